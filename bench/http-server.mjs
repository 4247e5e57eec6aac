// One benchmark server per process: `node bench/http-server.mjs <variant> <secret> <issuer origin>`.
// Every variant serves GET /me the same way, with the same Fastify options; they differ only
// in what protects it. Each library verifies a token it signed itself (printed as
// `credentials {"token": …}` for the loader).
// The -jwks variants are resource servers: they verify the RS256 tokens of the local
// issuer (bench/jwks-issuer.mjs) with the keys of its JWKS. Prints `listening <port>` once ready.
import fastifyCookie from '@fastify/cookie'
import fastifyJwt from '@fastify/jwt'
import Fastify from 'fastify'
import tokenAuth, { createMemoryStore } from 'fastify-token-auth'
import buildGetJwks from 'get-jwks'

export const ISSUER = 'bench-issuer'
export const AUDIENCE = 'bench-api'
export const COOKIE = '__Host-access-token'
// The claims every library signs for the benchmark user (each with its own signer).
const CLAIMS = { sub: 'user-123', roles: ['admin'] }

const [variant, secret, jwksIssuer] = process.argv.slice(2)
const app = Fastify({ logger: false })

if (variant === 'hello') {
  app.get('/me', async () => ({ sub: 'user-123' }))
} else if (variant === 'ours-header' || variant === 'ours-cookie') {
  // With a store, so the revocation check (and its sync) is on, as in production; the
  // token is one this app signs itself, with its default header and claims.
  await app.register(tokenAuth, { secret, issuer: ISSUER, audience: AUDIENCE, store: createMemoryStore() })
  app.get('/me', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
  await app.ready()
  console.log(`credentials ${JSON.stringify({ token: await app.tokenAuth.sign(CLAIMS, { expiresIn: '2h' }) })}`)
} else if (variant === 'ours-keys') {
  // ours-header's app and route with API keys on and the route opened to them: loaded with
  // an access token and with a key of the same user, both made here and printed for the loader.
  await app.register(tokenAuth, { secret, issuer: ISSUER, audience: AUDIENCE, store: createMemoryStore(), passwords: { bcryptCost: 10 }, apiKeys: {} })
  app.get('/me', { onRequest: app.authenticate, config: { allowApiKeys: true } }, async (request) => ({ sub: request.user.sub }))
  await app.ready()
  const user = await app.tokenAuth.accounts.createUser({ username: 'bench', password: 'correct horse battery staple' })
  const { key } = await app.tokenAuth.apiKeys.create(user.id, { name: 'bench', scopes: [] })
  const token = await app.tokenAuth.sign({ sub: user.id }, { expiresIn: '2h' })
  console.log(`credentials ${JSON.stringify({ key, token })}`)
} else if (variant === 'jwt-header' || variant === 'jwt-cookie') {
  // What a user of @fastify/jwt writes: its README's setup with default options (the cookie
  // plugin only where the token travels in a cookie), verifying a token it signed itself.
  if (variant === 'jwt-cookie') await app.register(fastifyCookie)
  await app.register(fastifyJwt, { secret, ...(variant === 'jwt-cookie' ? { cookie: { cookieName: COOKIE, signed: false } } : {}) })
  app.get('/me', { onRequest: async (request) => { await request.jwtVerify() } }, async (request) => ({ sub: request.user.sub }))
  await app.ready()
  console.log(`credentials ${JSON.stringify({ token: app.jwt.sign(CLAIMS, { expiresIn: '2h' }) })}`)
} else if (variant === 'jwt-header-before') {
  // The setup this benchmark used before (kept to show what it changed, in the jwt-setup
  // group): the cookie plugin on a header route, iss and aud checks replacing @fastify/jwt's
  // default verify options, and a token signed by our signer (typ at+jwt, kid, jti) from the loader.
  await app.register(fastifyCookie)
  await app.register(fastifyJwt, { secret, verify: { allowedIss: ISSUER, allowedAud: AUDIENCE } })
  app.get('/me', { onRequest: async (request) => { await request.jwtVerify() } }, async (request) => ({ sub: request.user.sub }))
} else if (variant === 'ours-jwks') {
  await app.register(tokenAuth, {
    issuers: [{ issuer: jwksIssuer, audience: AUDIENCE, jwks: { url: `${jwksIssuer}/.well-known/jwks.json` }, allowInsecureLocalhost: true }],
    transport: { cookie: false }
  })
  app.get('/me', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
} else if (variant === 'jwt-jwks') {
  // The recipe of the @fastify/jwt README ("Verifying with JWKS"), with the get-jwks
  // issuer allow-list so that only the configured issuer's keys are ever fetched.
  const getJwks = buildGetJwks({ issuersWhitelist: [jwksIssuer] })
  await app.register(fastifyJwt, {
    decode: { complete: true },
    secret: (request, token) => {
      const { header: { kid, alg }, payload: { iss } } = token
      return getJwks.getPublicKey({ kid, domain: iss, alg })
    },
    verify: { allowedIss: jwksIssuer, allowedAud: AUDIENCE }
  })
  app.get('/me', { onRequest: async (request) => { await request.jwtVerify() } }, async (request) => ({ sub: request.user.sub }))
} else {
  throw new Error(`unknown variant ${variant}`)
}

await app.listen({ host: '127.0.0.1', port: 0 })
console.log(`listening ${app.server.address().port}`)
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
