import Fastify from 'fastify'
import t from 'tap'
import tokenAuth from 'fastify-token-auth'
import { SECRET } from './helpers/app.js'
import { bearer, claims, forge, ACCESS_HEADER } from './helpers/forge.js'
import { assertRefused, BARE_CHALLENGE, enrollTotp, INSUFFICIENT_SCOPE, INVALID_TOKEN, mfaApp, mfaSession, passwordSession, totpNow } from './helpers/mfa-app.js'

// requireMfa and requireRole(..., { mfa: true }): a session signed in with a second factor
// (its amr holds 'mfa') passes; a password-only session, an application-signed token and an
// API key do not.

const MFA_REQUIRED = 'FST_TOKEN_AUTH_MFA_REQUIRED'

t.test('requireMfa lets a session signed in with a second factor through, and refuses a password-only one with 403 insufficient_scope', async (t) => {
  const { app, clock } = await mfaApp(t)
  const passwordOnly = await passwordSession(app)
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer(passwordOnly) }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED, 'password only')
  const { secret } = await enrollTotp(app, clock, passwordOnly)
  const withCode = await mfaSession(app, clock, secret)
  const res = await app.inject({ url: '/mfa-only', headers: bearer(withCode) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { amr: ['pwd', 'otp', 'mfa'] })
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer(passwordOnly) }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED, 'the old session still has no second factor')
})

t.test('requireMfa: no token is the bare 401, a bad one invalid_token, before any amr is read', async (t) => {
  const { app } = await mfaApp(t)
  assertRefused(t, await app.inject({ url: '/mfa-only' }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_NO_TOKEN')
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer('not.a.token') }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_TOKEN')
})

t.test('requireMfa refuses an application-signed token (sign() refuses amr) and an amr that is not a list holding mfa', async (t) => {
  const { app, alice, clock } = await mfaApp(t)
  const now = Math.floor(clock.now() / 1000)
  await t.rejects(app.tokenAuth.sign({ sub: alice.id, amr: ['mfa'] }), TypeError, 'sign() cannot forge amr')
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer(await app.tokenAuth.sign({ sub: alice.id })) }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED)
  // Signed with the service's own key, as only a key holder could: the guard reads the claim's shape strictly.
  for (const amr of ['mfa', 'pwd mfa', { 0: 'mfa' }, ['pwd'], [], null, [['mfa']]]) {
    const token = forge(ACCESS_HEADER, claims({ sub: alice.id, amr, iat: now, exp: now + 600 }), { secret: SECRET })
    const res = await app.inject({ url: '/mfa-only', headers: bearer(token) })
    assertRefused(t, res, 403, INSUFFICIENT_SCOPE, MFA_REQUIRED, JSON.stringify(amr))
  }
  const good = forge(ACCESS_HEADER, claims({ sub: alice.id, amr: ['hwk', 'user', 'mfa'], iat: now, exp: now + 600 }), { secret: SECRET })
  t.equal((await app.inject({ url: '/mfa-only', headers: bearer(good) })).statusCode, 200, 'a well-formed amr with mfa, signed by the key, passes')
})

t.test('an API key never satisfies requireMfa, even on a route that accepts keys and with amr among the application claims', async (t) => {
  const { app, alice, clock } = await mfaApp(t, { auth: { claims: (user) => ({ roles: user.roles, amr: ['pwd', 'otp', 'mfa'] }) } })
  const { secret } = await enrollTotp(app, clock, await passwordSession(app))
  await mfaSession(app, clock, secret)
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  assertRefused(t, await app.inject({ url: '/keyed-mfa', headers: bearer(key) }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED)
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer(key) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED', 'a route that does not accept keys')
})

t.test('requireRole(role, { mfa: true }) checks the role first (403 insufficient_scope), then the second factor (403 MFA_REQUIRED)', async (t) => {
  const { app, clock } = await mfaApp(t)
  const bobs = await passwordSession(app, 'bob')
  assertRefused(t, await app.inject({ url: '/admin-mfa', headers: bearer(bobs) }), 403, INSUFFICIENT_SCOPE, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', 'no role')
  const alices = await passwordSession(app)
  assertRefused(t, await app.inject({ url: '/admin-mfa', headers: bearer(alices) }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED, 'the role, no second factor')
  t.equal((await app.inject({ url: '/admin-any', headers: bearer(alices) })).statusCode, 200, '{ mfa: false } asks for the role only')
  t.equal((await app.inject({ url: '/admin', headers: bearer(alices) })).statusCode, 200, 'no options: the role only')
  const { secret } = await enrollTotp(app, clock, alices)
  t.equal((await app.inject({ url: '/admin-mfa', headers: bearer(await mfaSession(app, clock, secret)) })).statusCode, 200)
})

t.test('a refreshed token keeps the amr of its session, so requireMfa still passes', async (t) => {
  const { app, clock } = await mfaApp(t)
  const { secret } = await enrollTotp(app, clock, await passwordSession(app))
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'correct horse battery staple' } })
  const second = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.json().mfa_token, code: totpNow(secret, clock), include_refresh_token: true } })
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: second.json().refresh_token } })
  t.equal(refreshed.statusCode, 200)
  t.same((await app.inject({ url: '/mfa-only', headers: bearer(refreshed.json().access_token) })).json(), { amr: ['pwd', 'otp', 'mfa'] })
})

t.test('requireRole refuses bad trailing options at registration', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET })
  const requireRole = app.requireRole as (...args: unknown[]) => unknown
  t.throws(() => requireRole('admin', { mfa: 'yes' }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /mfa must be true or false/ })
  t.throws(() => requireRole('admin', { mfaa: true }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /mfaa is not a requireRole option; did you mean mfa\?/ })
  t.throws(() => requireRole({ mfa: true }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /requireRole needs one or more names/ }, 'options without a role')
  t.throws(() => requireRole('admin', ['mfa']), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /requireRole needs one or more names/ }, 'an array is no options object')
  t.throws(() => requireRole('admin', { mfa: true }, 'owner'), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' }, 'options only last')
  t.type(requireRole('admin', {}), 'function', 'empty options are fine')
})

t.test('without the mfa option requireMfa still guards: no token from this service names a second factor', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET })
  app.get('/mfa-only', { onRequest: app.requireMfa }, async () => 'ok')
  await app.ready()
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer(await app.tokenAuth.sign({ sub: 'u1' })) }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED)
})
