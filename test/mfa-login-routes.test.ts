import Fastify from 'fastify'
import t from 'tap'
import tokenAuth, { createMemoryStore, loginRoutes, type UserRecord } from 'fastify-token-auth'
import { PASSWORD, SECRET } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import {
  ADDRESS, assertRefused, BARE_CHALLENGE, enrollTotp, INVALID_TOKEN, mfaApp, nextStep, passwordLogin, passwordSession, totpNow, VALIDATION, type MfaApp, type Response
} from './helpers/mfa-app.js'

// The second step of a login over HTTP: POST /auth/login answers mfa_required for a user with a
// second factor, POST /auth/login/mfa finishes it with a TOTP code or a recovery code.

const INVALID_CHALLENGE = 'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE'
const INVALID_CODE = 'FST_TOKEN_AUTH_INVALID_MFA_CODE'
const BAD_REQUEST = 'FST_TOKEN_AUTH_INVALID_MFA_REQUEST'

async function withTotp (t: Parameters<typeof mfaApp>[0], options: Parameters<typeof mfaApp>[1] = {}): Promise<MfaApp & { secret: string, recoveryCodes: string[] }> {
  const built = await mfaApp(t, options)
  const { secret, recoveryCodes } = await enrollTotp(built.app, built.clock, await passwordSession(built.app))
  built.events.length = 0
  return { ...built, secret, recoveryCodes: recoveryCodes as string[] }
}

async function secondStep (app: MfaApp['app'], payload: Record<string, unknown>, headers: Record<string, string> = {}, remoteAddress = ADDRESS): Promise<Response> {
  return await app.inject({ method: 'POST', url: '/auth/login/mfa', payload, headers, remoteAddress })
}

async function mfaToken (app: MfaApp['app']): Promise<string> {
  return (await passwordLogin(app)).json().mfa_token
}

t.test('a right password of a user with TOTP gets mfa_required: no session, no cookie, no-store', async (t) => {
  const { app, events, alice } = await withTotp(t)
  for (const headers of [{}, { 'sec-fetch-site': 'same-origin' }]) {
    const res = await passwordLogin(app, 'alice', {}, headers)
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['expires_in', 'methods', 'mfa_required', 'mfa_token'])
    t.match(body, { mfa_required: true, expires_in: 300, methods: ['totp', 'recovery_code'] })
    t.match(body.mfa_token, /^[A-Za-z0-9_-]{43}$/)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['set-cookie'], undefined, 'no cookie, not even the device one')
    t.equal(res.headers['www-authenticate'], undefined)
  }
  t.match(events.filter((event) => event.type === 'login.mfa_required'), [{ userId: alice.id, username: 'alice', address: ADDRESS, methods: ['totp', 'recovery_code'] }])
  t.notOk(events.some((event) => event.type === 'login.succeeded'), 'no login yet')
})

t.test('a user without a second factor logs in with the password alone: amr pwd', async (t) => {
  const { app } = await withTotp(t)
  const res = await passwordLogin(app, 'bob')
  t.equal(res.statusCode, 200)
  t.notOk('mfa_required' in res.json())
  t.same((await app.tokenAuth.verify(res.json().access_token)).amr, ['pwd'])
})

t.test('POST /auth/login/mfa with the current TOTP code answers with the session (amr pwd otp mfa), like /login', async (t) => {
  const { app, clock, secret, events, alice } = await withTotp(t)
  const res = await secondStep(app, { mfa_token: await mfaToken(app), code: totpNow(secret, clock), include_refresh_token: true })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { token_type: 'Bearer', expires_in: 900, user: { id: alice.id, username: 'alice' } })
  t.type(body.refresh_token, 'string', 'an API client asked for the refresh token')
  t.same((await app.tokenAuth.verify(body.access_token)).amr, ['pwd', 'otp', 'mfa'])
  t.match(events.filter((event) => event.type === 'login.succeeded'), [{ userId: alice.id, authMethods: ['pwd', 'otp', 'mfa'], address: ADDRESS }])
})

t.test('a browser finishing the second step gets the session as cookies, the device cookie too, and no token in the body', async (t) => {
  const { app, clock, secret } = await withTotp(t)
  const browser = { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80' }
  const token = (await passwordLogin(app, 'alice', {}, browser)).json().mfa_token
  const res = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: token, code: totpNow(secret, clock) }, headers: { ...browser, host: 'localhost' }, remoteAddress: ADDRESS })
  t.equal(res.statusCode, 200)
  t.notOk('access_token' in res.json())
  const names = app.tokenAuth.cookieNames
  t.same(res.cookies.map((cookie) => cookie.name).sort(), [names.accessToken, names.csrf, names.device, names.refreshToken].sort())
})

t.test('a recovery code finishes the second step once; typed in upper case with spaces it is the same code', async (t) => {
  const { app, recoveryCodes, events, alice } = await withTotp(t)
  const typed = ` ${recoveryCodes[0].toUpperCase().replace('-', ' ')} `
  const res = await secondStep(app, { mfa_token: await mfaToken(app), recovery_code: typed })
  t.equal(res.statusCode, 200)
  t.same((await app.tokenAuth.verify(res.json().access_token)).amr, ['pwd', 'otp', 'mfa'])
  t.match(events.filter((event) => event.type === 'mfa.recovery_code_used'), [{ userId: alice.id, remaining: 9 }])
  const again = await secondStep(app, { mfa_token: await mfaToken(app), recovery_code: recoveryCodes[0] })
  assertRefused(t, again, 401, BARE_CHALLENGE, INVALID_CODE, 'a used recovery code')
  t.match((await passwordLogin(app)).json().methods, ['totp', 'recovery_code'])
})

t.test('a wrong code is 401 INVALID_MFA_CODE with the bare challenge; the challenge stays for a retype', async (t) => {
  const { app, clock, secret, events } = await withTotp(t)
  const token = await mfaToken(app)
  const right = totpNow(secret, clock)
  const wrong = right === '000000' ? '000001' : '000000'
  // Four guesses: a fifth would lock the account (throttle.maxAccountFailures).
  for (const payload of [{ code: wrong }, { code: '1234567' }, { recovery_code: 'aaaaa-aaaaa' }, { recovery_code: '!' }]) {
    assertRefused(t, await secondStep(app, { mfa_token: token, ...payload }), 401, BARE_CHALLENGE, INVALID_CODE, JSON.stringify(payload))
  }
  t.equal(events.filter((event) => event.type === 'login.failed' && event.reason === 'mfa_code').length, 4)
  t.equal((await secondStep(app, { mfa_token: token, code: right })).statusCode, 200, 'the retype works')
})

t.test('a code is good once: the same code for another login of the same step is refused', async (t) => {
  const { app, clock, secret } = await withTotp(t)
  const code = totpNow(secret, clock)
  t.equal((await secondStep(app, { mfa_token: await mfaToken(app), code })).statusCode, 200)
  assertRefused(t, await secondStep(app, { mfa_token: await mfaToken(app), code }), 401, BARE_CHALLENGE, INVALID_CODE, 'replayed')
  nextStep(clock)
  t.equal((await secondStep(app, { mfa_token: await mfaToken(app), code: totpNow(secret, clock) })).statusCode, 200, 'the next step\'s code works')
})

t.test('an unknown, malformed, used, expired or elsewhere-asked mfa_token is 401 INVALID_MFA_CHALLENGE with invalid_token', async (t) => {
  const { app, clock, secret } = await withTotp(t)
  const code = (): string => totpNow(secret, clock)
  for (const token of ['x', 'A'.repeat(43), 'A'.repeat(128), '../../etc/passwd', '€'.repeat(43)]) {
    assertRefused(t, await secondStep(app, { mfa_token: token, code: code() }), 401, INVALID_TOKEN, INVALID_CHALLENGE, token.slice(0, 10))
  }
  const used = await mfaToken(app)
  t.equal((await secondStep(app, { mfa_token: used, code: code() })).statusCode, 200)
  nextStep(clock)
  assertRefused(t, await secondStep(app, { mfa_token: used, code: code() }), 401, INVALID_TOKEN, INVALID_CHALLENGE, 'used')
  const elsewhere = await mfaToken(app)
  assertRefused(t, await secondStep(app, { mfa_token: elsewhere, code: code() }, {}, '203.0.113.99'), 401, INVALID_TOKEN, INVALID_CHALLENGE, 'another address')
  t.equal((await secondStep(app, { mfa_token: elsewhere, code: code() })).statusCode, 200, 'the refusal spent nothing: from the address it was given to, it works')
  nextStep(clock)
  const expired = await mfaToken(app)
  clock.advance(301_000)
  assertRefused(t, await secondStep(app, { mfa_token: expired, code: code() }), 401, INVALID_TOKEN, INVALID_CHALLENGE, 'expired')
})

t.test('a user disabled or signed out everywhere between the steps cannot finish the login', async (t) => {
  const { app, clock, secret, alice } = await withTotp(t)
  const token = await mfaToken(app)
  await app.tokenAuth.logoutEverywhere(alice.id)
  assertRefused(t, await secondStep(app, { mfa_token: token, code: totpNow(secret, clock) }), 401, INVALID_TOKEN, INVALID_CHALLENGE, 'signed out everywhere')
  const next = await mfaToken(app)
  await app.tokenAuth.accounts.setDisabled(alice.id, true)
  assertRefused(t, await secondStep(app, { mfa_token: next, code: totpNow(secret, clock) }), 401, INVALID_TOKEN, INVALID_CHALLENGE, 'disabled')
})

t.test('none or two of code, recovery_code and passkey: 400 INVALID_MFA_REQUEST, nothing counted', async (t) => {
  const { app, recoveryCodes, clock, secret } = await withTotp(t)
  const token = await mfaToken(app)
  for (const payload of [{}, { code: '123456', recovery_code: recoveryCodes[0] }]) {
    assertRefused(t, await secondStep(app, { mfa_token: token, ...payload }), 400, undefined, BAD_REQUEST, JSON.stringify(payload))
  }
  t.equal((await secondStep(app, { mfa_token: token, code: totpNow(secret, clock) })).statusCode, 200)
})

t.test('bodies the schema refuses are 400 FST_ERR_VALIDATION without a challenge; not JSON is 415', async (t) => {
  const { app } = await withTotp(t)
  const token = await mfaToken(app)
  const refused = [
    {},
    { code: '123456' },
    { mfa_token: token, code: 123456 },
    { mfa_token: token, code: '' },
    { mfa_token: token, code: '1'.repeat(65) },
    { mfa_token: token, recovery_code: 'x'.repeat(65) },
    { mfa_token: token, code: ['123456'] },
    { mfa_token: 42, code: '123456' },
    { mfa_token: 'x'.repeat(129), code: '123456' },
    { mfa_token: token, code: '123456', admin: true },
    { mfa_token: token, code: '123456', include_refresh_token: 'yes' },
    { mfa_token: token, passkey: 'a passkey' },
    { mfa_token: token, passkey: {} }
  ]
  for (const payload of refused) {
    assertRefused(t, await secondStep(app, payload), 400, undefined, VALIDATION, JSON.stringify(payload).slice(0, 60))
  }
  for (const [type, payload] of [['text/plain', JSON.stringify({ mfa_token: token, code: '123456' })], ['application/x-www-form-urlencoded', `mfa_token=${token}&code=123456`]]) {
    assertRefused(t, await secondStep(app, payload as unknown as Record<string, unknown>, { 'content-type': type }), 415, undefined, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', type)
  }
  assertRefused(t, await secondStep(app, '{"mfa_token":' as unknown as Record<string, unknown>, { 'content-type': 'application/json' }), 400, undefined, 'FST_ERR_CTP_INVALID_JSON_BODY', 'bad JSON')
  const huge = await app.inject({ method: 'POST', url: '/auth/login/mfa', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ mfa_token: token, code: 'x'.repeat(2_000_000) }) })
  assertRefused(t, huge, 413, undefined, 'FST_ERR_CTP_BODY_TOO_LARGE', 'a body past bodyLimit')
})

t.test('wrong codes lock the account for both steps: 429 with Retry-After, even for the right code, until the lockout ends', async (t) => {
  const { app, clock, secret } = await withTotp(t, { auth: { throttle: { maxAccountFailures: 3, lockout: '1m' } } })
  const token = await mfaToken(app)
  for (let i = 0; i < 3; i++) assertRefused(t, await secondStep(app, { mfa_token: token, code: 'abcdef' }), 401, BARE_CHALLENGE, INVALID_CODE)
  const locked = await secondStep(app, { mfa_token: token, code: totpNow(secret, clock) })
  assertRefused(t, locked, 429, undefined, 'FST_TOKEN_AUTH_LOGIN_THROTTLED', 'the right code while locked')
  t.match(locked.headers['retry-after'], /^\d+$/)
  const password = await passwordLogin(app)
  assertRefused(t, password, 429, undefined, 'FST_TOKEN_AUTH_LOGIN_THROTTLED', 'the password step shares the lockout')
  clock.advance(61_000)
  t.equal((await secondStep(app, { mfa_token: await mfaToken(app), code: totpNow(secret, clock) })).statusCode, 200, 'after the lockout')
})

t.test('onLoginSuccess runs after the second step, not after the password; a refusal there is its error and no session', async (t) => {
  const seen: string[] = []
  let refuse = false
  const { app, clock, secret } = await withTotp(t, {
    routes: {
      onLoginSuccess: ({ user }) => {
        seen.push(user.username)
        if (refuse) throw Object.assign(new Error('not today'), { statusCode: 403, code: 'APP_REFUSED' })
      }
    }
  })
  seen.length = 0
  const token = await mfaToken(app)
  t.same(seen, [], 'not after the password')
  t.equal((await secondStep(app, { mfa_token: token, code: totpNow(secret, clock) })).statusCode, 200)
  t.same(seen, ['alice'])
  nextStep(clock)
  refuse = true
  assertRefused(t, await secondStep(app, { mfa_token: await mfaToken(app), code: totpNow(secret, clock) }), 403, undefined, 'APP_REFUSED')
})

t.test('login CSRF: a second step posted from another site or a sibling subdomain is 403, and spends nothing', async (t) => {
  const { app, clock, secret } = await withTotp(t)
  const token = await mfaToken(app)
  for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site', origin: 'https://evil.localhost' }, { origin: 'https://attacker.example' }]) {
    assertRefused(t, await secondStep(app, { mfa_token: token, code: totpNow(secret, clock) }, headers), 403, undefined, 'FST_TOKEN_AUTH_CSRF', JSON.stringify(headers))
  }
  t.equal((await secondStep(app, { mfa_token: token, code: totpNow(secret, clock) })).statusCode, 200, 'the challenge and the code are still good')
})

t.test('an access token or an API key sent along changes nothing: the second step authenticates by its challenge only', async (t) => {
  const { app, clock, secret, bob } = await withTotp(t)
  const { key } = await app.tokenAuth.apiKeys.create(bob.id, { name: 'k', scopes: [] })
  const res = await secondStep(app, { mfa_token: await mfaToken(app), code: totpNow(secret, clock) }, bearer(key))
  t.equal(res.statusCode, 200)
  t.equal(res.json().user.username, 'alice')
})

t.test('with the mfa option off the second-step routes do not exist, and the password alone signs in', async (t) => {
  const store = createMemoryStore()
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET, store, passwords: { bcryptCost: 10 } })
  await app.register(loginRoutes, { prefix: '/auth' })
  await app.ready()
  const alice = await app.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD }) as UserRecord
  await store.totp.stage({ userId: alice.id, encryptedSecret: 'x', createdAt: 0, confirmedAt: null, lastUsedStep: 0 })
  await store.totp.confirm(alice.id, 'x', 1, 1)
  for (const url of ['/auth/login/mfa', '/auth/login/mfa/passkey-options', '/auth/login/passkey/options', '/auth/login/passkey']) {
    t.equal((await app.inject({ method: 'POST', url, payload: {} })).statusCode, 404, url)
  }
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(res.statusCode, 200)
  t.type(res.json().access_token, 'string', 'factors in the store are not read')
})
