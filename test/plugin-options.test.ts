import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { createMemoryStore, loginRoutes, type TokenAuthOptions } from 'fastify-token-auth'
import { SECRET } from './helpers/app.js'

// A bad configuration fails registration with a clear message, never a request later.

async function bootError (t: Test, options: unknown, routes?: unknown): Promise<Error> {
  const app = Fastify()
  t.teardown(async () => { await app.close().catch(() => {}) })
  try {
    await app.register(tokenAuth, options as TokenAuthOptions)
    if (routes !== undefined) await app.register(loginRoutes, routes as object)
    await app.ready()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the registration to fail')
}

// Keys for the algorithm cases, made once: RSA key generation is slow.
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })

const bad: Array<[string, unknown, RegExp]> = [
  ['no secret and no keys', {}, /a signing secret is required/],
  ['both secret and keys', { secret: SECRET, keys: [{ secret: SECRET }] }, /not both/],
  ['a short secret', { secret: 'too-short' }, /at least 32 bytes/],
  ['an empty audience list', { secret: SECRET, audience: [] }, /audience must be/],
  ['a non-string audience', { secret: SECRET, audience: [1] }, /audience must be/],
  ['an empty issuer', { secret: SECRET, issuer: '' }, /issuer must be a non-empty string/],
  ['a realm with a quote', { secret: SECRET, realm: 'a"b' }, /realm must be/],
  ['a realm that is not a string', { secret: SECRET, realm: 7 }, /realm must be/],
  ['claims that is not a function', { secret: SECRET, claims: {} }, /claims must be a function/],
  ['both transports off', { secret: SECRET, transport: { header: false, cookie: false } }, /cannot both be false/],
  ['a transport flag that is not boolean', { secret: SECRET, transport: { header: 'yes' } }, /transport.header must be true or false/],
  ['an unknown preference', { secret: SECRET, transport: { prefer: 'query' } }, /transport.prefer must be one of 'header', 'cookie'/],
  ['an unparseable TTL', { secret: SECRET, accessTokenTtl: '15 minutes' }, /accessTokenTtl must be a number of seconds or a string such as '15m'/],
  ['a zero TTL', { secret: SECRET, accessTokenTtl: 0 }, /accessTokenTtl must be at least 1/],
  ['a TTL over a day', { secret: SECRET, accessTokenTtl: '2d' }, /at most 86400/],
  ['a clock tolerance over 60 s', { secret: SECRET, clockTolerance: '5m' }, /clockTolerance must be at least 0 and at most 60/],
  ['a tiny maxTokenLength', { secret: SECRET, maxTokenLength: 10 }, /maxTokenLength must be an integer from 256/],
  ['a negative cache size', { secret: SECRET, verifiedTokenCacheSize: -1 }, /verifiedTokenCacheSize/],
  ['an invalid cookie name', { secret: SECRET, cookie: { accessTokenName: 'a b' } }, /not a valid cookie name/],
  ['an empty cookie name', { secret: SECRET, cookie: { csrfName: '' } }, /cookie.csrfName must be a non-empty string/],
  ['__Host- cookies without Secure', { secret: SECRET, cookie: { secure: false, accessTokenName: '__Host-t' } }, /cannot carry a __Host- or __Secure- prefix/],
  ['a __Host- refresh cookie', { secret: SECRET, cookie: { refreshTokenName: '__Host-r' } }, /cannot use the __Host- prefix/],
  ['a __Host- device cookie', { secret: SECRET, cookie: { deviceName: '__Host-d' } }, /cannot use the __Host- prefix/],
  ['two cookies with one name', { secret: SECRET, cookie: { csrfName: '__Host-access-token' } }, /must differ/],
  ['an unknown SameSite', { secret: SECRET, cookie: { sameSite: 'none' } }, /cookie.sameSite must be one of 'strict', 'lax'/],
  ['a CSRF header name with spaces', { secret: SECRET, csrf: { headerName: 'x csrf' } }, /csrf.headerName must be a header name/],
  ['allowed origins that are not URLs', { secret: SECRET, csrf: { allowedOrigins: ['example.com'] } }, /csrf.allowedOrigins must be an array of origins/],
  ['a reuse grace over 10 s', { secret: SECRET, session: { reuseGrace: '30s' } }, /session.reuseGrace must be at least 0 and at most 10/],
  ['a sync interval not shorter than the staleness bound', { secret: SECRET, revocation: { syncInterval: '2s', maxStaleness: '1s' } }, /syncInterval must be shorter/],
  ['an RSA key of 1024 bits', { keys: [{ kid: 'new', secret: SECRET }, { publicKey: rsa1024.publicKey }] }, /keys\[1\] is an RSA key of 1024 bits; RS256 needs at least 2048 bits/],
  ['ES384 stated for a P-256 key', { keys: [{ alg: 'ES384', privateKey: p256.privateKey }] }, /keys\[0\] is an EC P-256 key, which cannot be used for ES384 \(ES384 needs an EC P-384 key\)/],
  ['RS256 stated for an EC key', { keys: [{ alg: 'RS256', publicKey: p256.publicKey }] }, /keys\[0\] is an EC P-256 key, which cannot be used for RS256 \(RS256 needs an RSA key of at least 2048 bits\)/],
  ['RS256 stated for an RSA-PSS key', { keys: [{ alg: 'RS256', privateKey: rsaPss.privateKey }] }, /keys\[0\] is an RSA-PSS key of 2048 bits, which cannot be used for RS256/]
]

for (const [name, options, message] of bad) {
  t.test(`registration fails for ${name}`, async (t) => {
    t.match(await bootError(t, options), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message })
  })
}

t.test('registration fails when access tokens may live longer than maxTokenTtl, which revocations are kept for', async (t) => {
  t.match(await bootError(t, { secret: SECRET, store: createMemoryStore(), accessTokenTtl: '2h', maxTokenTtl: '1h' }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /maxTokenTtl must be at least accessTokenTtl/ })
})

t.test('registration fails for a store that does not implement the contract', async (t) => {
  for (const store of [{}, { users: {}, families: {} }, 'sqlite']) {
    t.match(await bootError(t, { secret: SECRET, store: store as never }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /store must implement the store contract/ })
  }
})

t.test('loginRoutes fails to register without a store, or with bad options', async (t) => {
  t.match(await bootError(t, { secret: SECRET }, {}), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /loginRoutes needs a `store`/ })
  const store = createMemoryStore()
  t.match(await bootError(t, { secret: SECRET, store }, { publicUser: 'x' as never }), { message: /publicUser must be a function/ })
  t.match(await bootError(t, { secret: SECRET, store, throttle: { maxAccountFailures: 0 } }), { message: /throttle.maxAccountFailures must be a positive integer/ })
  t.match(await bootError(t, { secret: SECRET, store, throttle: { lockout: '1h', maxLockout: '10m' } }), { message: /lockout must not be longer than throttle.maxLockout/ })
  t.match(await bootError(t, { secret: SECRET, store, throttle: { window: '2d' } }), { message: /throttle.window must be/ })
})

t.test('loginRoutes without tokenAuth fails with fastify-plugin\'s dependency error', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await t.rejects(async () => { await app.register(loginRoutes) }, /fastify-token-auth/)
})

t.test('documented defaults: cookies without Secure drop their prefixes', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET, cookie: { secure: false } })
  await app.ready()
  t.same(app.tokenAuth.cookieNames, { accessToken: 'access-token', csrf: 'csrf-token', refreshToken: 'refresh-token', device: 'device' })
})
