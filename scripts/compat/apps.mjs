/**
 * The scratch apps the compatibility run builds from the packed tarball: what each installs,
 * the module system it compiles to, and the program it runs.
 */

// Fastify's and knex's oldest supported releases, against the newest of each major.
export const OLDEST = { fastify: '5.0.0', knex: '3.1.0' }
export const NEWEST = { fastify: '^5', knex: '^3' }

// Every scratch app type-checks the way demanding applications do.
export const STRICT_COMPILER_OPTIONS = {
  target: 'ES2022',
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  types: ['node'],
  outDir: 'dist',
  rootDir: 'src'
}

export const TOOLCHAIN = ['typescript@5', '@types/node@latest']

/**
 * A full session on a knex store: sign up, log in, call a protected route, rotate the
 * refresh token, log out, and see the access token refused afterwards.
 */
export const SESSION_PROGRAM = `import Fastify from 'fastify'
import knex from 'knex'
import tokenAuth, { loginRoutes } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'

function required (name: string): string {
  const value = process.env[name]
  if (value === undefined) throw new Error(name + ' is not set')
  return value
}

async function main (): Promise<void> {
  const db = knex({ client: required('DB_CLIENT'), connection: required('DB_URL') })
  const store = createKnexStore({ knex: db, tablePrefix: required('TABLE_PREFIX') })
  await store.migrate()
  const app = Fastify()
  await app.register(tokenAuth, { secret: process.env.TOKEN_SECRET, issuer: 'compat', audience: 'compat', store })
  await app.register(loginRoutes, { prefix: '/auth' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
  app.get('/admin', { onRequest: app.requireRole('admin') }, async () => ({ admin: true }))
  try {
    const alice = await app.tokenAuth.accounts.createUser({ username: 'alice', password: 'correct horse battery staple', roles: ['admin'] })
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'correct horse battery staple', include_refresh_token: true } })
    expect(login.statusCode === 200, 'login: ' + login.body)
    const session = login.json<{ access_token: string, refresh_token: string }>()
    const bearer = { authorization: 'Bearer ' + session.access_token }
    const me = await app.inject({ url: '/me', headers: bearer })
    expect(me.statusCode === 200 && me.json<{ sub: string }>().sub === alice.id, 'me: ' + me.body)
    expect((await app.inject({ url: '/admin', headers: bearer })).statusCode === 200, 'admin route')
    const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refresh_token } })
    expect(refreshed.statusCode === 200, 'refresh: ' + refreshed.body)
    const next = refreshed.json<{ access_token: string }>()
    const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: 'Bearer ' + next.access_token } })
    expect(logout.statusCode === 204, 'logout: ' + logout.body)
    const after = await app.inject({ url: '/me', headers: { authorization: 'Bearer ' + next.access_token } })
    expect(after.statusCode === 401, 'a logged-out token is refused: ' + after.body)
  } finally {
    await app.close()
    await store.rollback()
    await db.destroy()
  }
  console.log('session on ' + required('DB_CLIENT') + ': ok')
}

function expect (condition: boolean, what: string): void {
  if (!condition) throw new Error('unexpected result, ' + what)
}

main().catch((error: unknown) => { console.error(error); process.exit(1) })
`

/**
 * A resource server: verifies tokens signed elsewhere with an Ed25519 public key, then by
 * the issuer's JWKS URL alone, with no store and no database driver installed.
 */
export const RESOURCE_SERVER_PROGRAM = `import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import tokenAuth from 'fastify-token-auth'

async function main (): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const issuer = Fastify()
  await issuer.register(tokenAuth, { keys: [{ kid: 'k1', alg: 'EdDSA', privateKey, publicKey }], issuer: 'auth', audience: 'api', transport: { cookie: false } })
  const api = Fastify()
  await api.register(tokenAuth, { keys: [{ kid: 'k1', alg: 'EdDSA', publicKey }], issuer: 'auth', audience: 'api', transport: { cookie: false } })
  api.get('/me', { onRequest: api.authenticate }, async (request) => ({ sub: request.user.sub }))
  const byJwks = Fastify()
  try {
    const token = await issuer.tokenAuth.sign({ sub: '42' })
    const ok = await api.inject({ url: '/me', headers: { authorization: 'Bearer ' + token } })
    if (ok.statusCode !== 200 || ok.json<{ sub: string }>().sub !== '42') throw new Error('verify: ' + ok.body)
    const forged = await api.inject({ url: '/me', headers: { authorization: 'Bearer ' + token.slice(0, -2) + 'AA' } })
    if (forged.statusCode !== 401) throw new Error('a forged token was not refused: ' + forged.body)
    issuer.get('/.well-known/jwks.json', async () => issuer.tokenAuth.jwks())
    const origin = await issuer.listen({ host: '127.0.0.1', port: 0 })
    await byJwks.register(tokenAuth, { issuers: [{ issuer: 'auth', audience: 'api', jwks: { url: origin + '/.well-known/jwks.json' }, allowInsecureLocalhost: true }], transport: { cookie: false } })
    byJwks.get('/me', { onRequest: byJwks.authenticate }, async (request) => ({ sub: request.user.sub }))
    const remote = await byJwks.inject({ url: '/me', headers: { authorization: 'Bearer ' + token } })
    if (remote.statusCode !== 200 || remote.json<{ sub: string }>().sub !== '42') throw new Error('verify by JWKS: ' + remote.body)
  } finally {
    await issuer.close()
    await api.close()
    await byJwks.close()
  }
  console.log('resource server: ok')
}

main().catch((error: unknown) => { console.error(error); process.exit(1) })
`
