import { generateKeyPairSync } from 'node:crypto'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import tokenAuth from 'fastify-token-auth'
import t, { type Test } from 'tap'
import { revocationFeed } from 'fastify-token-auth'
import { buildSessionApp } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { startLocalIssuer } from './helpers/local-issuer.js'
import { API_AUDIENCE, assertRefused, buildResourceServer, issuerOptions } from './helpers/resource-server.js'
import { login } from './helpers/session.js'

// A logout at the auth service reaches a resource server that shares no database with it,
// through the authenticated revocation feed; when the feed cannot be read for longer than
// the staleness bound, the resource server fails closed (503), never open.

const ISSUER = 'https://auth.example.test'
const CREDENTIAL = 'Fq3Lx8Zt1Vb6Nm0Kc4Hy7Wd2Rj5Ps9Ge3Ua8Oi1Te6Mn'

async function authService (t: Test): Promise<{ app: FastifyInstance, origin: string }> {
  const { privateKey } = generateKeyPairSync('ed25519')
  const { app } = await buildSessionApp(t, {
    auth: { keys: [{ privateKey }], csrf: { secret: CREDENTIAL.split('').reverse().join('') }, issuer: ISSUER, audience: API_AUDIENCE },
    setup (app) {
      app.register(revocationFeed, { prefix: '/auth', credentials: [CREDENTIAL] }).after(() => {})
      app.get('/.well-known/jwks.json', async () => app.tokenAuth.jwks())
    }
  })
  return { app, origin: await app.listen({ host: '127.0.0.1', port: 0 }) }
}

async function resourceServer (t: Test, origin: string, clock: TestClock, credential = CREDENTIAL): Promise<FastifyInstance> {
  return await buildResourceServer(t, [{
    issuer: ISSUER,
    audience: API_AUDIENCE,
    jwks: { url: `${origin}/.well-known/jwks.json` },
    revocations: { url: `${origin}/auth/revocations`, credential, syncInterval: '20ms', maxStaleness: '1s' },
    allowInsecureLocalhost: true
  }], { clock })
}

/** Polls the resource server (real time, bounded) until it refuses the token. */
async function untilRefused (rs: FastifyInstance, token: string): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  for (let attempt = 0; ; attempt++) {
    const res = await rs.inject({ url: '/me', headers: bearer(token) })
    if (res.statusCode !== 200 || attempt === 200) return res
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('a token logged out at the auth service is refused by the resource server, which has no database', async (t) => {
  const auth = await authService(t)
  const rs = await resourceServer(t, auth.origin, new TestClock())
  const session = await login(auth.app)
  t.equal((await rs.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200)
  t.equal((await auth.app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })).statusCode, 204)
  assertRefused(t, await untilRefused(rs, session.accessToken), { status: 401, code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
})

t.test('logout everywhere at the auth service ends every session at the resource server', async (t) => {
  const auth = await authService(t)
  const rs = await resourceServer(t, auth.origin, new TestClock())
  const first = await login(auth.app)
  const second = await login(auth.app)
  for (const session of [first, second]) t.equal((await rs.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200)
  t.equal((await auth.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(first.accessToken) })).statusCode, 204)
  for (const session of [first, second]) assertRefused(t, await untilRefused(rs, session.accessToken), { status: 401, code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
  const again = await login(auth.app)
  t.equal((await rs.inject({ url: '/me', headers: bearer(again.accessToken) })).statusCode, 200, 'a session started afterwards is accepted')
})

t.test('with the feed unreachable past maxStaleness the resource server answers 503 with Retry-After, and recovers', async (t) => {
  const auth = await authService(t)
  const clock = new TestClock()
  const rs = await resourceServer(t, auth.origin, clock)
  const session = await login(auth.app)
  t.equal((await rs.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200)
  await auth.app.close()
  await new Promise((resolve) => setTimeout(resolve, 100))
  clock.advance(1100)
  const stale = await rs.inject({ url: '/me', headers: bearer(session.accessToken) })
  assertRefused(t, stale, { status: 503, code: 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE' })
  t.ok(Number(stale.headers['retry-after']) >= 1)
})

t.test('a resource server holding a wrong feed credential fails closed: 503, never an accept', async (t) => {
  const auth = await authService(t)
  const clock = new TestClock()
  const rs = await resourceServer(t, auth.origin, clock, CREDENTIAL.replace(/^.{6}/, 'AAAAAA'))
  const session = await login(auth.app)
  clock.advance(1100)
  assertRefused(t, await rs.inject({ url: '/me', headers: bearer(session.accessToken) }), { status: 503, code: 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE' })
})

t.test('a feed that fails and then answers is reported once as down and once as back in sync', async (t) => {
  let healthy = false
  const feed = Fastify()
  feed.get('/revocations', async (_request, reply) => healthy ? { revocations: [] } : await reply.code(500).send({ error: 'down' }))
  t.teardown(async () => { await feed.close() })
  const origin = await feed.listen({ host: '127.0.0.1', port: 0 })
  const issuer = await startLocalIssuer(t)
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk)).msg); done() } }) } })
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { issuers: [issuerOptions(issuer, { revocations: { url: `${origin}/revocations`, credential: CREDENTIAL, syncInterval: '20ms' } })], transport: { cookie: false } })
  await app.ready()
  t.equal(lines.filter((line) => line.startsWith('cannot read the issuer\'s revocation feed')).length, 1)
  healthy = true
  for (let i = 0; i < 100 && !lines.some((line) => line.includes('are in sync again')); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(lines.filter((line) => line === `revocations from ${issuer.issuer} are in sync again`).length, 1)
})
