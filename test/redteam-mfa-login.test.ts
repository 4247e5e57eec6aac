import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { loginRoutes, mfaRoutes, type AuthStore } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { PASSWORD, SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { databaseTargets, openDatabase, type DatabaseName } from './helpers/databases.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { bearer } from './helpers/forge.js'
import {
  ADDRESS, assertRefused, BARE_CHALLENGE, enrollTotp, INVALID_TOKEN, MFA_KEY, mfaApp, nextStep, ORIGIN, passwordLogin, passwordSession, totpNow, type MfaApp, type Response
} from './helpers/mfa-app.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'

// Attacks on the login side of the second factor: a stolen password alone must never give a
// session, whatever the path, the timing, the number of instances or the input.

const INVALID_CHALLENGE = 'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE'
const INVALID_CODE = 'FST_TOKEN_AUTH_INVALID_MFA_CODE'
const THROTTLED = 'FST_TOKEN_AUTH_LOGIN_THROTTLED'

async function withTotp (t: Test, options: Parameters<typeof mfaApp>[1] = {}): Promise<MfaApp & { secret: string, recoveryCodes: string[] }> {
  const built = await mfaApp(t, options)
  const { secret, recoveryCodes } = await enrollTotp(built.app, built.clock, await passwordSession(built.app))
  built.events.length = 0
  return { ...built, secret, recoveryCodes: recoveryCodes as string[] }
}

async function post (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}, remoteAddress = ADDRESS): Promise<Response> {
  return await app.inject({ method: 'POST', url: `/auth${url}`, payload: payload as object, headers, remoteAddress })
}

async function mfaToken (app: FastifyInstance, remoteAddress = ADDRESS): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD }, remoteAddress })
  if (res.json().mfa_required !== true) throw new Error(`no second step: ${res.statusCode} ${res.payload}`)
  return res.json().mfa_token
}

t.test('the mfa_token is no credential anywhere else: not a bearer token, not a refresh token', async (t) => {
  const { app } = await withTotp(t)
  const token = await mfaToken(app)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(token) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_TOKEN', 'as an access token')
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer(token) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_TOKEN', 'at requireMfa')
  const refreshed = await post(app, '/refresh', { refresh_token: token })
  t.equal(refreshed.statusCode, 401, 'as a refresh token')
  t.equal(refreshed.json().code, 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN')
  const status = await app.inject({ method: 'GET', url: '/auth/mfa', headers: bearer(token), remoteAddress: ADDRESS })
  t.equal(status.statusCode, 401, 'at the factor routes')
})

t.test('a refresh token, an access token or a passkey challenge is no mfa_token', async (t) => {
  const { app, bob } = await withTotp(t)
  const bobSession = (await passwordLogin(app, 'bob', { include_refresh_token: true })).json()
  t.ok(bob)
  const options = (await post(app, '/login/passkey/options', {})).json()
  for (const [what, value] of [['refresh token', bobSession.refresh_token], ['access token', bobSession.access_token], ['passkey sign-in challenge', options.challenge]]) {
    assertRefused(t, await post(app, '/login/mfa', { mfa_token: String(value).slice(0, 128), code: '123456' }), 401, INVALID_TOKEN, INVALID_CHALLENGE, what)
  }
})

t.test('a password change or a password reset between the steps ends the pending login', async (t) => {
  const { app, clock, secret, alice } = await withTotp(t)
  const pending = await mfaToken(app)
  // The real user changes the password on a session of theirs (signed in with both steps).
  const first = await post(app, '/login/mfa', { mfa_token: await mfaToken(app), code: totpNow(secret, clock) })
  nextStep(clock)
  const changed = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(first.json().access_token), payload: { current_password: PASSWORD, new_password: 'a brand new passphrase here' }, remoteAddress: ADDRESS })
  t.equal(changed.statusCode, 200)
  t.same((await app.tokenAuth.verify(changed.json().access_token)).amr, ['pwd', 'otp', 'mfa'], 'the new session keeps how the old one began')
  const res = await post(app, '/login/mfa', { mfa_token: pending, code: totpNow(secret, clock) })
  assertRefused(t, res, 401, INVALID_TOKEN, INVALID_CHALLENGE, 'the old password\'s challenge')
  t.ok(alice)
})

t.test('a password-only session changing the password stays password-only', async (t) => {
  const { app, clock, alice } = await mfaApp(t)
  const token = await passwordSession(app)
  // TOTP turned on from this session: it began with the password alone.
  await enrollTotp(app, clock, token)
  const changed = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(token), payload: { current_password: PASSWORD, new_password: 'a brand new passphrase here' }, remoteAddress: ADDRESS })
  t.equal(changed.statusCode, 200)
  const claims = await app.tokenAuth.verify(changed.json().access_token)
  t.same(claims.amr, ['pwd'])
  assertRefused(t, await app.inject({ url: '/mfa-only', headers: bearer(changed.json().access_token) }), 403, /insufficient_scope/, 'FST_TOKEN_AUTH_MFA_REQUIRED')
  t.ok(alice)
})

t.test('a code of an earlier step is refused once a later step\'s code was used, on a new pending login too', async (t) => {
  const { app, clock, secret } = await withTotp(t)
  // The phone runs a step ahead: its code is taken, and the current step's code is then too old.
  t.equal((await post(app, '/login/mfa', { mfa_token: await mfaToken(app), code: totpNow(secret, clock, 1) })).statusCode, 200)
  for (const steps of [0, -1, 1]) {
    assertRefused(t, await post(app, '/login/mfa', { mfa_token: await mfaToken(app), code: totpNow(secret, clock, steps) }), 401, BARE_CHALLENGE, INVALID_CODE, `step ${steps}`)
  }
})

t.test('TOTP turned off between the steps: its codes and the recovery codes no longer finish the pending login', async (t) => {
  const { app, clock, secret, recoveryCodes } = await withTotp(t, { auth: { throttle: { maxAccountFailures: 100 } } })
  const pending = await mfaToken(app, '192.0.2.99')
  const session = (await post(app, '/login/mfa', { mfa_token: await mfaToken(app), code: totpNow(secret, clock) })).json().access_token
  nextStep(clock)
  const off = await app.inject({ method: 'POST', url: '/auth/mfa/totp/disable', headers: bearer(session), payload: { current_password: PASSWORD, code: totpNow(secret, clock) }, remoteAddress: ADDRESS })
  t.equal(off.statusCode, 204)
  nextStep(clock)
  assertRefused(t, await post(app, '/login/mfa', { mfa_token: pending, code: totpNow(secret, clock) }, {}, '192.0.2.99'), 401, BARE_CHALLENGE, INVALID_CODE, 'a code')
  assertRefused(t, await post(app, '/login/mfa', { mfa_token: pending, recovery_code: recoveryCodes[0] }, {}, '192.0.2.99'), 401, BARE_CHALLENGE, INVALID_CODE, 'a recovery code')
})

t.test('200 wrong second steps at once buy no guess beyond the account limit, and the right code is then refused', async (t) => {
  const { app, clock, secret, events } = await withTotp(t, { auth: { throttle: { maxAccountFailures: 5, maxAddressFailures: 1000 }, login: { maxInFlightPerAccount: 200, maxInFlightPerAddress: 200 } } })
  const token = await mfaToken(app)
  const right = totpNow(secret, clock)
  const wrong = right === '000000' ? '111111' : '000000'
  const answers = await Promise.all(Array.from({ length: 200 }, async () => await post(app, '/login/mfa', { mfa_token: token, code: wrong })))
  const refused = answers.filter((res) => res.statusCode === 401)
  t.equal(refused.length, 5, 'five guesses checked')
  t.ok(answers.every((res) => res.statusCode === 401 || res.statusCode === 429))
  t.equal(events.filter((event) => event.type === 'login.failed' && event.reason === 'mfa_code').length, 5)
  const res = await post(app, '/login/mfa', { mfa_token: token, code: right })
  assertRefused(t, res, 429, undefined, THROTTLED, 'the right code while locked')
  t.ok(Number(res.headers['retry-after']) > 0)
})

t.test('the real user\'s browser keeps signing in with both steps while an attacker with the password locks the account', async (t) => {
  const { app, clock, secret } = await withTotp(t, { auth: { throttle: { maxAccountFailures: 3 } } })
  // The real user's browser signed in before: it holds a device cookie.
  const browser = { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80', host: 'localhost' }
  const earlier = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD }, headers: browser, remoteAddress: ADDRESS })
  const done = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: earlier.json().mfa_token, code: totpNow(secret, clock) }, headers: browser, remoteAddress: ADDRESS })
  nextStep(clock)
  const device = done.cookies.find((cookie) => cookie.name === app.tokenAuth.cookieNames.device)
  t.ok(device, 'device cookie')
  const attacker = '192.0.2.99'
  const stolen = await mfaToken(app, attacker)
  for (let i = 0; i < 3; i++) t.equal((await post(app, '/login/mfa', { mfa_token: stolen, code: '000000' }, {}, attacker)).statusCode, 401)
  t.equal((await post(app, '/login/mfa', { mfa_token: stolen, code: '000000' }, {}, attacker)).statusCode, 429, 'the account is locked')
  const cookie = `${device?.name as string}=${device?.value as string}`
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD }, headers: { ...browser, cookie }, remoteAddress: ADDRESS })
  t.equal(first.statusCode, 200)
  const second = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.json().mfa_token, code: totpNow(secret, clock) }, headers: { ...browser, cookie }, remoteAddress: ADDRESS })
  t.equal(second.statusCode, 200, 'the second step on the device key')
})

t.test('hostile second-step and passkey bodies are 4xx, never 5xx', async (t) => {
  const { app } = await withTotp(t)
  const token = await mfaToken(app)
  const deep = Buffer.from('['.repeat(6000) + ']'.repeat(6000)).toString('base64url').slice(0, 8192)
  const huge = 'A'.repeat(8192)
  const clientData = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const assertion = (clientDataJSON: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
    ({ id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA', ...extra } })
  const bodies: unknown[] = [
    { mfa_token: token, code: '１２３４５６' },
    { mfa_token: token, code: '\u0000\u0000\u0000' },
    { mfa_token: token, recovery_code: 'ǆǆǆǆǆ-ǆǆǆǆǆ' },
    { mfa_token: token, passkey: assertion(deep) },
    { mfa_token: token, passkey: assertion(huge) },
    { mfa_token: token, passkey: assertion(clientData({ challenge: 42 })) },
    { mfa_token: token, passkey: assertion(clientData({ challenge: { toString: 1 } })) },
    { mfa_token: token, passkey: assertion(clientData({ challenge: 'x'.repeat(5000) })) },
    { mfa_token: token, passkey: assertion(clientData({ challenge: 'abc' }), { userHandle: null }) },
    { mfa_token: token, passkey: assertion(clientData(null)) },
    { mfa_token: token, passkey: assertion(clientData('challenge')) }
  ]
  for (const body of bodies) {
    const res = await post(app, '/login/mfa', body)
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.payload.slice(0, 120)}`)
  }
  for (const response of bodies.slice(3).map((body) => (body as { passkey: unknown }).passkey)) {
    const res = await post(app, '/login/passkey', { response })
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `sign-in: ${res.statusCode} ${res.payload.slice(0, 120)}`)
  }
})

t.test('a passkey sign-in refuses an assertion whose user handle is another user\'s, and one without user verification', async (t) => {
  const { app, clock, secret, bob } = await withTotp(t, { auth: { throttle: { maxAccountFailures: 100 } } })
  const session = (await post(app, '/login/mfa', { mfa_token: await mfaToken(app), code: totpNow(secret, clock) })).json().access_token
  nextStep(clock)
  const authenticator = new SoftAuthenticator({ origin: ORIGIN })
  const options = await app.inject({ method: 'POST', url: '/auth/mfa/passkeys/options', headers: bearer(session), payload: { current_password: PASSWORD }, remoteAddress: ADDRESS })
  const added = await app.inject({ method: 'POST', url: '/auth/mfa/passkeys', headers: bearer(session), payload: { name: 'key', response: authenticator.register(options.json()) }, remoteAddress: ADDRESS })
  t.equal(added.statusCode, 201)
  for (const tweaks of [{ userHandle: Buffer.from(bob.id).toString('base64url') }, { userVerified: false }, { userHandle: null }]) {
    const sign = (await post(app, '/login/passkey/options', {})).json()
    assertRefused(t, await post(app, '/login/passkey', { response: authenticator.assert(sign, tweaks) }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_INVALID_PASSKEY', JSON.stringify(tweaks))
  }
  // A second-step challenge is bound to its pending login: it does not sign in alone.
  const pending = await mfaToken(app)
  const stepOptions = (await post(app, '/login/mfa/passkey-options', { mfa_token: pending })).json()
  assertRefused(t, await post(app, '/login/passkey', { response: authenticator.assert(stepOptions) }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_INVALID_PASSKEY', 'a second-step challenge alone')
  // A registration challenge is no login challenge.
  const registration = await app.inject({ method: 'POST', url: '/auth/mfa/passkeys/options', headers: bearer(session), payload: { current_password: PASSWORD }, remoteAddress: ADDRESS })
  assertRefused(t, await post(app, '/login/passkey', { response: authenticator.assert({ challenge: registration.json().challenge, rpId: 'localhost' }) }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_INVALID_PASSKEY', 'a registration challenge')
  assertRefused(t, await post(app, '/login/mfa', { mfa_token: pending, passkey: authenticator.assert({ challenge: registration.json().challenge, rpId: 'localhost' }) }), 401, BARE_CHALLENGE, INVALID_CODE, 'a registration challenge at the second step')
})

// Two application instances, each with its own pool, on one database: codes are spent once.

async function instance (t: Test, knex: Awaited<ReturnType<typeof openDatabase>>['knex'], prefix: string, clock: TestClock, store?: AuthStore): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  const own = store ?? createKnexStore({ knex, tablePrefix: prefix })
  await own.migrate?.()
  await app.register(tokenAuth, {
    secret: SECRET,
    store: own,
    clock,
    passwords: { hasher: new FastTestHasher() },
    mfa: { encryptionKey: MFA_KEY, passkeys: { rpId: 'localhost', origins: ORIGIN } },
    throttle: { maxAccountFailures: 5, maxAddressFailures: 1000 },
    login: { maxInFlightPerAccount: 100, maxInFlightPerAddress: 100 },
    revocation: { syncInterval: '50ms', maxStaleness: '1h' }
  })
  await app.register(loginRoutes, { prefix: '/auth' })
  await app.register(mfaRoutes, { prefix: '/auth/mfa' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  return app
}

async function twoInstances (t: Test, name: DatabaseName): Promise<{ a: FastifyInstance, b: FastifyInstance, clock: TestClock, secret: string, recoveryCodes: string[] }> {
  const database = await openDatabase(t, name)
  const clock = new TestClock(1_900_000_000_000)
  const a = await instance(t, database.knex, database.prefix, clock)
  const b = await instance(t, database.connect(), database.prefix, clock)
  await a.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  const { secret, recoveryCodes } = await enrollTotp(a, clock, await passwordSession(a))
  return { a, b, clock, secret, recoveryCodes: recoveryCodes as string[] }
}

for (const target of databaseTargets()) {
  t.test(`two instances on one ${target.name} database`, { skip: target.skip }, async (t) => {
    t.test('one TOTP code sent to both at once, on two pending logins: exactly one session', async (t) => {
      const { a, b, clock, secret } = await twoInstances(t, target.name)
      for (let round = 0; round < 3; round++) {
        const [tokenA, tokenB] = [await mfaToken(a), await mfaToken(b)]
        const code = totpNow(secret, clock)
        const answers = await Promise.all([post(a, '/login/mfa', { mfa_token: tokenA, code }), post(b, '/login/mfa', { mfa_token: tokenB, code })])
        t.same(answers.map((res) => res.statusCode).sort(), [200, 401], `round ${round}`)
        const loser = answers.find((res) => res.statusCode === 401) as Response
        assertRefused(t, loser, 401, BARE_CHALLENGE, INVALID_CODE)
        nextStep(clock)
      }
    })

    t.test('one recovery code sent to both at once: exactly one session, and the code is gone', async (t) => {
      const { a, b, recoveryCodes } = await twoInstances(t, target.name)
      const [tokenA, tokenB] = [await mfaToken(a), await mfaToken(b)]
      const answers = await Promise.all([post(a, '/login/mfa', { mfa_token: tokenA, recovery_code: recoveryCodes[0] }), post(b, '/login/mfa', { mfa_token: tokenB, recovery_code: recoveryCodes[0] })])
      t.same(answers.map((res) => res.statusCode).sort(), [200, 401])
      const again = await post(a, '/login/mfa', { mfa_token: await mfaToken(a), recovery_code: recoveryCodes[0] })
      assertRefused(t, again, 401, BARE_CHALLENGE, INVALID_CODE, 'spent')
    })

    t.test('one pending login finished on both at once with two right proofs: exactly one session', async (t) => {
      const { a, b, clock, secret, recoveryCodes } = await twoInstances(t, target.name)
      const token = await mfaToken(a)
      const answers = await Promise.all([post(a, '/login/mfa', { mfa_token: token, code: totpNow(secret, clock) }), post(b, '/login/mfa', { mfa_token: token, recovery_code: recoveryCodes[1] })])
      t.same(answers.map((res) => res.statusCode).sort(), [200, 401])
      assertRefused(t, answers.find((res) => res.statusCode === 401) as Response, 401, INVALID_TOKEN, INVALID_CHALLENGE)
    })

    t.test('wrong codes sent to both at once count once each: no more guesses than the limit', async (t) => {
      const { a, b, clock, secret } = await twoInstances(t, target.name)
      const token = await mfaToken(a)
      const right = totpNow(secret, clock)
      const wrong = right === '000000' ? '111111' : '000000'
      const answers = await Promise.all(Array.from({ length: 40 }, async (_, i) => await post(i % 2 === 0 ? a : b, '/login/mfa', { mfa_token: token, code: wrong })))
      t.equal(answers.filter((res) => res.statusCode === 401).length, 5, 'five guesses checked')
      t.equal(answers.filter((res) => res.statusCode === 429).length, 35)
      assertRefused(t, await post(b, '/login/mfa', { mfa_token: token, code: right }), 429, undefined, THROTTLED, 'locked on both')
    })

    t.test('a session begun with both steps on one instance keeps its amr when refreshed on the other', async (t) => {
      const { a, b, clock, secret } = await twoInstances(t, target.name)
      const signedIn = await post(a, '/login/mfa', { mfa_token: await mfaToken(a), code: totpNow(secret, clock), include_refresh_token: true })
      t.equal(signedIn.statusCode, 200)
      const refreshed = await post(b, '/refresh', { refresh_token: signedIn.json().refresh_token })
      t.equal(refreshed.statusCode, 200)
      t.same((await b.tokenAuth.verify(refreshed.json().access_token)).amr, ['pwd', 'otp', 'mfa'])
      const again = await post(a, '/refresh', { refresh_token: refreshed.json().refresh_token })
      t.same((await a.tokenAuth.verify(again.json().access_token)).amr, ['pwd', 'otp', 'mfa'])
    })

    t.test('one passkey assertion sent to both at once signs in once', async (t) => {
      const { a, b, clock, secret } = await twoInstances(t, target.name)
      const session = (await post(a, '/login/mfa', { mfa_token: await mfaToken(a), code: totpNow(secret, clock) })).json().access_token
      nextStep(clock)
      const authenticator = new SoftAuthenticator({ origin: ORIGIN })
      const options = await a.inject({ method: 'POST', url: '/auth/mfa/passkeys/options', headers: bearer(session), payload: { current_password: PASSWORD }, remoteAddress: ADDRESS })
      t.equal((await b.inject({ method: 'POST', url: '/auth/mfa/passkeys', headers: bearer(session), payload: { name: 'key', response: authenticator.register(options.json()) }, remoteAddress: ADDRESS })).statusCode, 201)
      const sign = (await post(a, '/login/passkey/options', {})).json()
      const response = authenticator.assert(sign)
      const answers = await Promise.all([post(a, '/login/passkey', { response }), post(b, '/login/passkey', { response })])
      t.same(answers.map((res) => res.statusCode).sort(), [200, 401])
      // Two challenges, one counter value (a cloned authenticator): the compare-and-set lets one through.
      const [first, second] = [(await post(a, '/login/passkey/options', {})).json(), (await post(b, '/login/passkey/options', {})).json()]
      const counter = authenticator.counter + 1
      const clones = await Promise.all([post(a, '/login/passkey', { response: authenticator.assert(first, { counter }) }), post(b, '/login/passkey', { response: authenticator.assert(second, { counter }) })])
      t.same(clones.map((res) => res.statusCode).sort(), [200, 401])
    })
  })
}
