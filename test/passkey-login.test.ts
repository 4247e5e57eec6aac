import t from 'tap'
import type { AuthCore, MfaChallenge, MfaContext } from 'fastify-token-auth'
import { PASSWORD } from './helpers/app.js'
import { ADDRESS, contextOf, eventsOf, mfaCore, ORIGIN, passwordSession, type MfaFixture } from './helpers/mfa.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'

// Passkeys at login: alone (user verification required), or as the second step after a
// password. Every challenge works once, every counter only grows, and nothing a browser
// sends can be worse than a 4xx.

const PASSKEY_INVALID = { code: 'FST_TOKEN_AUTH_INVALID_PASSKEY', statusCode: 401 }
const CODE_INVALID = { code: 'FST_TOKEN_AUTH_INVALID_MFA_CODE', statusCode: 401 }
const CHALLENGE_INVALID = { code: 'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE', statusCode: 401 }
const BAD_REQUEST = { code: 'FST_TOKEN_AUTH_INVALID_MFA_REQUEST', statusCode: 400 }
const THROTTLED = { code: 'FST_TOKEN_AUTH_LOGIN_THROTTLED', statusCode: 429 }

/** alice with one passkey on this authenticator, and the (password) context that added it. */
async function withPasskey (fixture: MfaFixture, authenticator = new SoftAuthenticator({ origin: ORIGIN })): Promise<{ authenticator: SoftAuthenticator, ctx: MfaContext }> {
  const ctx = contextOf(fixture.core, await passwordSession(fixture))
  await fixture.factors.registerPasskey(ctx, 'laptop', authenticator.register(await fixture.factors.passkeyRegistrationOptions(ctx, PASSWORD)))
  return { authenticator, ctx }
}

async function signInOptions (core: AuthCore, address = ADDRESS): Promise<{ challenge: string }> {
  return await core.passkeyLoginOptions({ clientAddress: address })
}

t.test('a passkey alone signs in, with amr hwk user mfa, and its use is recorded', async (t) => {
  const fixture = await mfaCore(t)
  const { authenticator } = await withPasskey(fixture)
  const options = await signInOptions(fixture.core)
  t.match(options, { rpId: 'example.com', userVerification: 'required', timeout: 300_000 })
  t.equal((options as { allowCredentials?: unknown }).allowCredentials, undefined)
  fixture.clock.advance(5000)
  const seen: string[] = []
  const { session, deviceToken } = await fixture.core.passkeyLogIn({ response: authenticator.assert(options), clientAddress: ADDRESS, userAgent: 'agent' }, (user) => { seen.push(user.username) })
  t.same(seen, ['alice'])
  t.same(contextOf(fixture.core, session).authMethods, ['hwk', 'user', 'mfa'])
  t.match(deviceToken, /^[A-Za-z0-9_-]{22}\./)
  const [stored] = await fixture.store.passkeys.listByUser(fixture.alice.id)
  t.match(stored, { counter: authenticator.counter, lastUsedAt: Math.floor(fixture.clock.now() / 1000) })
  t.match(eventsOf(fixture.events, 'login.succeeded').at(-1), { userId: fixture.alice.id, authMethods: ['hwk', 'user', 'mfa'], address: ADDRESS })
})

t.test('a sign-in challenge works once, from the address it was given to', async (t) => {
  const fixture = await mfaCore(t)
  const { authenticator } = await withPasskey(fixture)
  const options = await signInOptions(fixture.core)
  const response = authenticator.assert(options)
  await fixture.core.passkeyLogIn({ response, clientAddress: ADDRESS })
  await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(options), clientAddress: ADDRESS }), PASSKEY_INVALID, 'spent')
  const elsewhere = await signInOptions(fixture.core, '198.51.100.1')
  await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(elsewhere), clientAddress: ADDRESS }), PASSKEY_INVALID, 'another address')
  await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(elsewhere), clientAddress: '198.51.100.1' }), PASSKEY_INVALID, 'and spent by the failed try')
  t.match(eventsOf(fixture.events, 'login.failed'), [{ reason: 'passkey', userId: fixture.alice.id, username: 'alice' }, { reason: 'passkey' }, { reason: 'passkey' }])
})

t.test('refused: an unknown passkey, another user\'s handle or none, no user verification, a disabled user, a counter gone back, a changed backup eligibility', async (t) => {
  const fixture = await mfaCore(t, { core: { throttle: { maxAccountFailures: 20 } } })
  const { authenticator } = await withPasskey(fixture)
  const stranger = new SoftAuthenticator({ origin: ORIGIN })
  stranger.userHandle = authenticator.userHandle
  stranger.rpId = 'example.com'
  await t.rejects(fixture.core.passkeyLogIn({ response: stranger.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS }), PASSKEY_INVALID, 'unknown')
  t.match(eventsOf(fixture.events, 'login.failed').at(-1), { reason: 'passkey', userId: undefined, username: '' })
  const cases = [
    { userHandle: Buffer.from(fixture.bob.id).toString('base64url') },
    { userHandle: null },
    { userVerified: false },
    { counter: 0 },
    { backupEligible: true }
  ]
  for (const tweaks of cases) {
    await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(await signInOptions(fixture.core), tweaks), clientAddress: ADDRESS }), PASSKEY_INVALID, JSON.stringify(tweaks))
  }
  await (fixture.core.stateful as NonNullable<AuthCore['stateful']>).management.setDisabled(fixture.alice.id, true)
  await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS }), PASSKEY_INVALID, 'disabled')
  await (fixture.core.stateful as NonNullable<AuthCore['stateful']>).management.setDisabled(fixture.alice.id, false)
  await fixture.core.passkeyLogIn({ response: authenticator.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS })
  t.pass('and then it works')
})

t.test('two sign-ins racing with one counter value: the store\'s compare-and-set lets one through', async (t) => {
  const fixture = await mfaCore(t)
  const { authenticator } = await withPasskey(fixture)
  const recordUse = fixture.store.passkeys.recordUse
  fixture.store.passkeys.recordUse = async () => false
  await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS }), PASSKEY_INVALID)
  fixture.store.passkeys.recordUse = recordUse
  const [a, b] = [await signInOptions(fixture.core), await signInOptions(fixture.core)]
  const counter = authenticator.counter + 1
  const results = await Promise.allSettled([a, b].map(async (options) => await fixture.core.passkeyLogIn({ response: authenticator.assert(options, { counter }), clientAddress: ADDRESS })))
  t.same(results.map((result) => result.status).sort(), ['fulfilled', 'rejected'])
})

t.test('failures are counted on the address (and the account once the passkey is known): past the limit, 429', async (t) => {
  const fixture = await mfaCore(t, { core: { throttle: { maxAddressFailures: 3, maxAccountFailures: 10, lockout: '1m' } } })
  const { authenticator } = await withPasskey(fixture)
  const stranger = new SoftAuthenticator({ origin: ORIGIN })
  stranger.rpId = 'example.com'
  for (let i = 0; i < 3; i++) await t.rejects(fixture.core.passkeyLogIn({ response: stranger.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS }), PASSKEY_INVALID)
  await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS }), THROTTLED)
  t.match(eventsOf(fixture.events, 'login.locked_out').at(-1), { username: 'alice', cause: 'failures' })
  await t.rejects(fixture.core.logIn({ username: 'bob', password: PASSWORD, clientAddress: ADDRESS }), THROTTLED, 'the address is locked for password logins too')
  fixture.clock.advance(61_000)
  await fixture.core.passkeyLogIn({ response: authenticator.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS })
  t.pass()
})

t.test('malformed responses are 400 and count nothing', async (t) => {
  const fixture = await mfaCore(t, { core: { throttle: { maxAddressFailures: 1 } } })
  const { authenticator } = await withPasskey(fixture)
  const good = authenticator.assert(await signInOptions(fixture.core))
  const clientData = (text: string): string => Buffer.from(text).toString('base64url')
  const bad: unknown[] = [undefined, null, 'x', { ...good, id: 5 }, { ...good, response: { ...good.response, clientDataJSON: clientData('nope') } },
    { ...good, response: { ...good.response, clientDataJSON: clientData('{"challenge":1}') } }, { ...good, response: { ...good.response, signature: 'A'.repeat(5000) } }]
  for (const response of bad) await t.rejects(fixture.core.passkeyLogIn({ response, clientAddress: ADDRESS }), BAD_REQUEST, JSON.stringify(response)?.slice(0, 60))
  await fixture.core.passkeyLogIn({ response: good, clientAddress: ADDRESS })
  t.pass('nothing was counted')
})

t.test('options are limited per address: each writes a challenge', async (t) => {
  const fixture = await mfaCore(t)
  for (let i = 0; i < 30; i++) await signInOptions(fixture.core)
  await t.rejects(signInOptions(fixture.core), { code: 'FST_TOKEN_AUTH_RATE_LIMITED', statusCode: 429 })
  await signInOptions(fixture.core, '198.51.100.1')
  fixture.clock.advance(60_000)
  await signInOptions(fixture.core)
  t.pass()
})

t.test('requireVerifiedEmail holds for passkey sign-ins too', async (t) => {
  const fixture = await mfaCore(t, { core: { requireVerifiedEmail: true } })
  await fixture.store.users.update(fixture.alice.id, { set: { emailVerifiedAt: 1 } })
  const { authenticator } = await withPasskey(fixture)
  await fixture.store.users.update(fixture.alice.id, { set: { emailVerifiedAt: null } })
  await t.rejects(fixture.core.passkeyLogIn({ response: authenticator.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS }), { code: 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED' })
})

async function passwordStep (fixture: MfaFixture, address = ADDRESS): Promise<MfaChallenge> {
  return ((await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: address })) as { challenge: MfaChallenge }).challenge
}

t.test('a passkey as the second step: options list the user\'s passkeys; presence is enough; amr pwd hwk mfa', async (t) => {
  const fixture = await mfaCore(t)
  const { authenticator } = await withPasskey(fixture)
  const challenge = await passwordStep(fixture)
  t.same(challenge.methods, ['recovery_code', 'passkey'])
  const options = await fixture.core.mfaPasskeyOptions({ challenge: challenge.token, clientAddress: ADDRESS })
  t.match(options, { userVerification: 'discouraged', allowCredentials: [{ id: authenticator.id, type: 'public-key' }] })
  const { session } = await fixture.core.completeMfaLogin({ challenge: challenge.token, passkey: authenticator.assert(options, { userVerified: false }), clientAddress: ADDRESS })
  t.same(contextOf(fixture.core, session).authMethods, ['pwd', 'hwk', 'mfa'])
})

t.test('second-step passkey options need a pending login from this address', async (t) => {
  const fixture = await mfaCore(t)
  await withPasskey(fixture)
  const challenge = await passwordStep(fixture)
  await t.rejects(fixture.core.mfaPasskeyOptions({ challenge: challenge.token, clientAddress: '198.51.100.1' }), CHALLENGE_INVALID)
  await t.rejects(fixture.core.mfaPasskeyOptions({ challenge: 'nope', clientAddress: ADDRESS }), CHALLENGE_INVALID)
})

t.test('the second step refuses another user\'s passkey, a sign-in challenge, another login\'s challenge, and a failed one counts', async (t) => {
  const fixture = await mfaCore(t)
  const { authenticator } = await withPasskey(fixture)
  const bobsAuthenticator = new SoftAuthenticator({ origin: ORIGIN })
  const bobCtx = contextOf(fixture.core, await passwordSession(fixture, fixture.bob))
  await fixture.factors.registerPasskey(bobCtx, 'bob', bobsAuthenticator.register(await fixture.factors.passkeyRegistrationOptions(bobCtx, PASSWORD)))

  const challenge = await passwordStep(fixture)
  const options = await fixture.core.mfaPasskeyOptions({ challenge: challenge.token, clientAddress: ADDRESS })
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, passkey: bobsAuthenticator.assert(options), clientAddress: ADDRESS }), CODE_INVALID, 'bob\'s passkey')
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, passkey: authenticator.assert(await signInOptions(fixture.core)), clientAddress: ADDRESS }), CODE_INVALID, 'a sign-in challenge')
  const other = await passwordStep(fixture)
  const otherOptions = await fixture.core.mfaPasskeyOptions({ challenge: other.token, clientAddress: ADDRESS })
  await t.rejects(fixture.core.completeMfaLogin({ challenge: challenge.token, passkey: authenticator.assert(otherOptions), clientAddress: ADDRESS }), CODE_INVALID, 'options of another login')
  t.match(eventsOf(fixture.events, 'login.failed'), [{ reason: 'passkey', userId: fixture.alice.id }, { reason: 'passkey' }, { reason: 'passkey' }])
  const retry = await fixture.core.mfaPasskeyOptions({ challenge: challenge.token, clientAddress: ADDRESS })
  await fixture.core.completeMfaLogin({ challenge: challenge.token, passkey: authenticator.assert(retry), clientAddress: ADDRESS })
  t.pass('the login\'s challenge was still there for a retry')
})

t.test('with passkeys turned off later, a user\'s passkey still asks for the second step, without offering it', async (t) => {
  const fixture = await mfaCore(t)
  await withPasskey(fixture)
  const off = await mfaCore(t, { store: fixture.store, clock: fixture.clock, passkeys: null })
  const challenge = ((await off.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })) as { challenge: MfaChallenge }).challenge
  t.same(challenge.methods, ['recovery_code'])
  await t.rejects(off.core.mfaPasskeyOptions({ challenge: challenge.token, clientAddress: ADDRESS }), BAD_REQUEST)
})
