import t from 'tap'
import type { AuthCore, MfaChallenge } from 'fastify-token-auth'
import { challengeHash } from '../lib/mfa/login-challenges.js'
import { PASSWORD } from './helpers/app.js'
import { ADDRESS, codeFor, contextOf, enableTotp, eventsOf, mfaCore, passwordSession, type MfaFixture } from './helpers/mfa.js'

// The two-step login: a right password of a user with a second factor gets a challenge, and
// the second step (a TOTP code or a recovery code) gets the session. Both steps count on one
// throttle; every code and every challenge works once.

const CHALLENGE_INVALID = { code: 'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE', statusCode: 401 }
const CODE_INVALID = { code: 'FST_TOKEN_AUTH_INVALID_MFA_CODE', statusCode: 401 }
const THROTTLED = { code: 'FST_TOKEN_AUTH_LOGIN_THROTTLED', statusCode: 429 }
const BAD_REQUEST = { code: 'FST_TOKEN_AUTH_INVALID_MFA_REQUEST', statusCode: 400 }

/** alice with TOTP on: her secret and recovery codes. */
async function withTotp (fixture: MfaFixture): Promise<{ secret: string, recoveryCodes: string[] }> {
  return await enableTotp(fixture, contextOf(fixture.core, await passwordSession(fixture)))
}

async function challengeOf (core: AuthCore, address = ADDRESS, password = PASSWORD): Promise<MfaChallenge> {
  const outcome = await core.logIn({ username: 'alice', password, clientAddress: address })
  if (outcome.kind !== 'mfa') throw new Error('expected the second step')
  return outcome.challenge
}

t.test('a user without a second factor gets a session at once, signed in by password', async (t) => {
  const fixture = await mfaCore(t)
  const outcome = await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })
  t.equal(outcome.kind, 'session')
  const session = outcome.kind === 'session' ? outcome.session : undefined
  t.same(contextOf(fixture.core, session as NonNullable<typeof session>).authMethods, ['pwd'])
  t.match(eventsOf(fixture.events, 'login.succeeded'), [{ userId: fixture.alice.id, authMethods: ['pwd'] }])
  t.equal(eventsOf(fixture.events, 'login.mfa_required').length, 0)
})

t.test('with TOTP on, the password gets a challenge, no session; the code gets the session, with amr pwd otp mfa', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const before = (await fixture.store.families.listByUser(fixture.alice.id, fixture.clock.now() / 1000)).length
  const seen: string[] = []
  const outcome = await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS }, (user) => { seen.push(`password step: ${user.username}`) })
  t.equal(outcome.kind, 'mfa')
  const challenge = (outcome as { challenge: MfaChallenge }).challenge
  t.match(challenge, { token: /^[A-Za-z0-9_-]{43}$/, expiresIn: 300, methods: ['totp', 'recovery_code'] })
  t.same(seen, [], 'onLoginSuccess waits for the second step')
  t.equal((await fixture.store.families.listByUser(fixture.alice.id, fixture.clock.now() / 1000)).length, before, 'no session yet')
  t.match(eventsOf(fixture.events, 'login.mfa_required'), [{ userId: fixture.alice.id, username: 'alice', address: ADDRESS, methods: ['totp', 'recovery_code'] }])
  t.notOk(JSON.stringify(fixture.events).includes(challenge.token), 'no event holds the challenge')

  const { session, deviceToken } = await fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS, userAgent: 'test' }, (user) => { seen.push(`second step: ${user.username}`) })
  t.same(seen, ['second step: alice'])
  t.same(contextOf(fixture.core, session).authMethods, ['pwd', 'otp', 'mfa'])
  t.match(deviceToken, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
  const families = await fixture.store.families.listByUser(fixture.alice.id, fixture.clock.now() / 1000)
  t.match(families.find((family) => family.id === session.sessionId), { authMethods: ['pwd', 'otp', 'mfa'], userAgent: 'test' })
  t.match(eventsOf(fixture.events, 'login.succeeded').at(-1), { userId: fixture.alice.id, sessionId: session.sessionId, authMethods: ['pwd', 'otp', 'mfa'], address: ADDRESS })
})

t.test('a code from the step before or after works; spaces are ignored', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  fixture.clock.advance(60_000)
  await fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, code: codeFor(secret, fixture.clock, -1), clientAddress: ADDRESS })
  const ahead = codeFor(secret, fixture.clock, 1)
  await fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, code: `${ahead.slice(0, 3)} ${ahead.slice(3)}`, clientAddress: ADDRESS })
  t.pass()
})

t.test('a recovery code works once, in any spelling; the methods offered follow what is left', async (t) => {
  const fixture = await mfaCore(t)
  const { recoveryCodes } = await withTotp(fixture)
  const [first] = recoveryCodes
  const { session } = await fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, recoveryCode: ` ${first.toUpperCase().replace('-', ' ')} `, clientAddress: ADDRESS })
  t.same(contextOf(fixture.core, session).authMethods, ['pwd', 'otp', 'mfa'])
  t.match(eventsOf(fixture.events, 'mfa.recovery_code_used'), [{ userId: fixture.alice.id, remaining: 9, address: ADDRESS }])
  const again = await challengeOf(fixture.core)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: again.token, recoveryCode: first, clientAddress: ADDRESS }), CODE_INVALID, 'used once')
  for (const code of recoveryCodes.slice(1)) await fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, recoveryCode: code, clientAddress: ADDRESS })
  t.same((await challengeOf(fixture.core)).methods, ['totp'], 'no recovery code left')
  t.notOk(JSON.stringify(fixture.events).includes(first), 'no event holds a code')
})

t.test('a TOTP code works once: the same code again, even on a new challenge, is refused', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const code = codeFor(secret, fixture.clock)
  await fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, code, clientAddress: ADDRESS })
  await t.rejects(fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, code, clientAddress: ADDRESS }), CODE_INVALID)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, code: codeFor(secret, fixture.clock, -1), clientAddress: ADDRESS }), CODE_INVALID, 'nor an older step')
  t.match(eventsOf(fixture.events, 'login.failed'), [{ reason: 'mfa_code', userId: fixture.alice.id, username: 'alice' }, { reason: 'mfa_code' }])
})

t.test('two second steps racing with one code: exactly one session', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const code = codeFor(secret, fixture.clock)
  const [a, b] = [await challengeOf(fixture.core), await challengeOf(fixture.core)]
  const results = await Promise.allSettled([a, b].map(async (challenge) => await fixture.core.completeMfaLogin({ challenge: challenge.token, code, clientAddress: ADDRESS })))
  t.same(results.map((result) => result.status).sort(), ['fulfilled', 'rejected'])
})

t.test('a challenge works once: after the session, and between two right proofs racing', async (t) => {
  const fixture = await mfaCore(t)
  const { secret, recoveryCodes } = await withTotp(fixture)
  const challenge = await challengeOf(fixture.core)
  await fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS })
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, recoveryCode: recoveryCodes[0], clientAddress: ADDRESS }), CHALLENGE_INVALID)

  fixture.clock.advance(30_000)
  const raced = await challengeOf(fixture.core)
  const results = await Promise.allSettled([
    fixture.core.completeMfaLogin({ challenge: raced.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }),
    fixture.core.completeMfaLogin({ challenge: raced.token, recoveryCode: recoveryCodes[1], clientAddress: ADDRESS })
  ])
  t.same(results.map((result) => result.status === 'fulfilled' ? 'ok' : (result.reason as { code: string }).code).sort(), ['FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE', 'ok'])
})

t.test('a wrong code leaves the challenge for a retype', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const challenge = await challengeOf(fixture.core)
  const right = codeFor(secret, fixture.clock)
  const wrong = right === '000000' ? '111111' : '000000'
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: wrong, clientAddress: ADDRESS }), CODE_INVALID)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, recoveryCode: 'abcde-fghjk', clientAddress: ADDRESS }), CODE_INVALID)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: 'not a code', clientAddress: ADDRESS }), CODE_INVALID)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, recoveryCode: 'not a code!', clientAddress: ADDRESS }), CODE_INVALID)
  await fixture.core.completeMfaLogin({ challenge: challenge.token, code: right, clientAddress: ADDRESS })
  t.pass()
})

t.test('the challenge is bound to the client address (an IPv6 /64 counts as one)', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const challenge = await challengeOf(fixture.core)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: '198.51.100.1' }), CHALLENGE_INVALID)
  const v6 = await challengeOf(fixture.core, '2001:db8:1:2::1')
  await fixture.core.completeMfaLogin({ challenge: v6.token, code: codeFor(secret, fixture.clock), clientAddress: '2001:db8:1:2:ffff::9' })
  t.pass()
})

t.test('the challenge expires after challengeTtl', async (t) => {
  const fixture = await mfaCore(t, { mfa: { challengeTtl: '1m' } })
  const { secret } = await withTotp(fixture)
  const challenge = await challengeOf(fixture.core)
  t.equal(challenge.expiresIn, 60)
  fixture.clock.advance(60_000)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), CHALLENGE_INVALID)
})

t.test('an unknown or malformed challenge is 401; anything but exactly one proof is 400, before anything is counted', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  for (const challenge of [undefined, 42, '', 'x'.repeat(43), 'A'.repeat(44)]) {
    await t.rejects(fixture.core.completeMfaLogin({ challenge, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), CHALLENGE_INVALID, JSON.stringify(challenge))
  }
  const { token } = await challengeOf(fixture.core)
  const bad = [{}, { code: '123456', recoveryCode: 'abcde-fghjk' }, { code: 123456 }, { recoveryCode: null }, { code: 'x'.repeat(65) }, { code: '123456', passkey: {} }]
  for (const proof of bad) await t.rejects(fixture.core.completeMfaLogin({ challenge: token, clientAddress: ADDRESS, ...proof }), BAD_REQUEST, JSON.stringify(proof))
  await fixture.core.completeMfaLogin({ challenge: token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS })
  t.equal(eventsOf(fixture.events, 'login.failed').length, 0, 'none of them was a guess')
})

t.test('wrong codes count toward the lockout the password step shares: locked, both steps are refused', async (t) => {
  const fixture = await mfaCore(t, { core: { throttle: { maxAccountFailures: 4, lockout: '1m' } } })
  const { secret } = await withTotp(fixture)
  await t.rejects(fixture.core.logIn({ username: 'alice', password: 'wrong password', clientAddress: ADDRESS }), { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS' })
  const challenge = await challengeOf(fixture.core)
  const wrong = codeFor(secret, fixture.clock) === '000000' ? '111111' : '000000'
  for (let i = 0; i < 3; i++) await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: wrong, clientAddress: ADDRESS }), CODE_INVALID)
  // 1 wrong password + 3 wrong codes = 4: the account is locked for both steps.
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), THROTTLED)
  await t.rejects(fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS }), THROTTLED)
  t.match(eventsOf(fixture.events, 'login.locked_out'), [{ userId: fixture.alice.id, username: 'alice', cause: 'failures' }, { username: 'alice', cause: 'failures' }])
  fixture.clock.advance(61_000)
  const later = await challengeOf(fixture.core)
  await fixture.core.completeMfaLogin({ challenge: later.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS })
  t.pass('the lockout ends')
})

t.test('a right second step takes its reservation back: right logins never lock the account', async (t) => {
  const fixture = await mfaCore(t, { core: { throttle: { maxAccountFailures: 2 } } })
  const { secret } = await withTotp(fixture)
  for (let i = 0; i < 4; i++) {
    fixture.clock.advance(30_000)
    await fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS })
  }
  t.pass()
})

t.test('the second step is throttled on the browser\'s device key like the password step', async (t) => {
  const fixture = await mfaCore(t, { core: { throttle: { maxAccountFailures: 2, lockout: '1m' } } })
  const { secret } = await withTotp(fixture)
  const { deviceToken } = await fixture.core.completeMfaLogin({ challenge: (await challengeOf(fixture.core)).token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS })
  // Someone else locks the account key with wrong passwords.
  for (let i = 0; i < 2; i++) await t.rejects(fixture.core.logIn({ username: 'alice', password: 'wrong', clientAddress: '198.51.100.9' }), { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS' })
  await t.rejects(fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS }), THROTTLED)
  fixture.clock.advance(30_000)
  const outcome = await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS, deviceToken })
  const challenge = (outcome as { challenge: MfaChallenge }).challenge
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), THROTTLED, 'without the device token: the locked account key')
  await fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS, deviceToken })
  t.pass('with it: the device\'s own allowance')
})

t.test('a user disabled or signed out everywhere between the steps is refused', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const management = (fixture.core.stateful as NonNullable<AuthCore['stateful']>).management
  const challenge = await challengeOf(fixture.core)
  await management.setDisabled(fixture.alice.id, true)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), CHALLENGE_INVALID)
  await management.setDisabled(fixture.alice.id, false)
  const next = await challengeOf(fixture.core)
  await (fixture.core.stateful as NonNullable<AuthCore['stateful']>).accounts.logOutEverywhere(fixture.alice.id, {})
  await t.rejects(fixture.core.completeMfaLogin({ challenge: next.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), CHALLENGE_INVALID)
})

t.test('a user disabled while the second step is checked gets no session, and the challenge is spent', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const challenge = await challengeOf(fixture.core)
  const useStep = fixture.store.totp.useStep
  fixture.store.totp.useStep = async (...args) => {
    await (fixture.core.stateful as NonNullable<AuthCore['stateful']>).management.setDisabled(fixture.alice.id, true)
    return await useStep(...args)
  }
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), CHALLENGE_INVALID)
  t.equal(await fixture.store.challenges.find(challengeHash(challenge.token), 'mfa_login', fixture.clock.now() / 1000), undefined)
})

t.test('requireVerifiedEmail is checked at the password step, before any challenge', async (t) => {
  const fixture = await mfaCore(t, { core: { requireVerifiedEmail: true } })
  await fixture.store.users.update(fixture.alice.id, { set: { emailVerifiedAt: 1 } })
  await withTotp(fixture)
  await fixture.store.users.update(fixture.alice.id, { set: { emailVerifiedAt: null } })
  await t.rejects(fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS }), { code: 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED' })
  t.equal(eventsOf(fixture.events, 'login.mfa_required').length, 0)
})

t.test('onLoginSuccess refusing at the second step: no session, and the operator sees it', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await withTotp(fixture)
  const challenge = await challengeOf(fixture.core)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }, () => { throw new Error('not today') }), { message: 'not today' })
  t.match(eventsOf(fixture.events, 'login.failed').at(-1), { reason: 'refused', userId: fixture.alice.id })
})

t.test('second-factor logins need the mfa option', async (t) => {
  const fixture = await mfaCore(t, { core: { mfa: undefined } })
  t.equal(fixture.core.stateful?.mfa, undefined)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: 'x', code: '123456', clientAddress: ADDRESS }), TypeError)
  await t.rejects(fixture.core.passkeyLoginOptions({ clientAddress: ADDRESS }), TypeError)
  t.equal((await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })).kind, 'session')
})

t.test('POST /login answers the second step\'s challenge for a user with a second factor: no token, no cookie, no-store', async (t) => {
  const { buildSessionApp } = await import('./helpers/app.js')
  const { MFA_KEY } = await import('./helpers/mfa.js')
  const { app, store } = await buildSessionApp(t, { auth: { mfa: { encryptionKey: MFA_KEY } } })
  const alice = await store.users.findByUsername('alice') as NonNullable<Awaited<ReturnType<typeof store.users.findByUsername>>>
  await store.totp.stage({ userId: alice.id, encryptedSecret: 'x', createdAt: 0, confirmedAt: null, lastUsedStep: 0 })
  await store.totp.confirm(alice.id, 'x', 0, 0)
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.headers['set-cookie'], undefined)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['expires_in', 'methods', 'mfa_required', 'mfa_token'])
  t.match(body, { mfa_required: true, mfa_token: /^[A-Za-z0-9_-]{43}$/, expires_in: 300, methods: ['totp'] })
})
