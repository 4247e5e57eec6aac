import t from 'tap'
import type { AuthCore, MfaChallenge } from 'fastify-token-auth'
import { PASSWORD } from './helpers/app.js'
import { linkTokenOf, MailOutbox } from './helpers/mail-outbox.js'
import { ADDRESS, codeFor, contextOf, enableTotp, eventsOf, mfaCore, passwordSession, type MfaFixture } from './helpers/mfa.js'

// How a session's user signed in (RFC 8176 `amr`): set by the session service alone, kept by
// refreshes and password changes, never by a password reset of a user with a second factor.

const NEW_PASSWORD = 'a brand new passphrase'
const MAIL = { transport: new MailOutbox(), from: 'no-reply@example.com', links: { passwordReset: 'https://app.example/reset', emailVerification: 'https://app.example/verify' } }

function stateful (core: AuthCore): NonNullable<AuthCore['stateful']> {
  return core.stateful as NonNullable<AuthCore['stateful']>
}

async function mfaSession (fixture: MfaFixture, secret: string): Promise<Awaited<ReturnType<AuthCore['completeMfaLogin']>>['session']> {
  fixture.clock.advance(30_000)
  const outcome = await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })
  return (await fixture.core.completeMfaLogin({ challenge: (outcome as { challenge: MfaChallenge }).challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS })).session
}

t.test('a refresh keeps the session\'s amr', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await enableTotp(fixture, contextOf(fixture.core, await passwordSession(fixture)))
  const session = await mfaSession(fixture, secret)
  const refreshed = await stateful(fixture.core).sessions.refresh(session.refreshToken)
  t.same(contextOf(fixture.core, refreshed).authMethods, ['pwd', 'otp', 'mfa'])
  const plain = await stateful(fixture.core).sessions.refresh((await passwordSession(fixture, fixture.bob)).refreshToken)
  t.same(contextOf(fixture.core, plain).authMethods, ['pwd'])
})

t.test('a session the application starts carries no amr, and claims() cannot forge one', async (t) => {
  const fixture = await mfaCore(t, { core: { claims: (user) => ({ amr: ['hwk', 'mfa'], name: user.username }) } })
  const started = await stateful(fixture.core).sessions.start(fixture.alice)
  const claims = (fixture.core.tokens as NonNullable<AuthCore['tokens']>).verify(started.accessToken)
  t.equal(claims.amr, undefined)
  t.equal((claims as { name?: string }).name, 'alice', 'the other claims stay')
  t.same(contextOf(fixture.core, await passwordSession(fixture)).authMethods, ['pwd'])
})

t.test('sign() refuses amr, like sid and ver', async (t) => {
  const fixture = await mfaCore(t)
  t.throws(() => (fixture.core.tokens as NonNullable<AuthCore['tokens']>).sign({ sub: 'x', amr: ['mfa'] }), { name: 'TypeError', message: 'claims.amr is set only by the session service' })
})

t.test('a password change keeps the amr of the session it was made from', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await enableTotp(fixture, contextOf(fixture.core, await passwordSession(fixture)))
  const session = await mfaSession(fixture, secret)
  const changed = await fixture.core.changePassword({ userId: fixture.alice.id, sessionId: session.sessionId, currentPassword: PASSWORD, newPassword: NEW_PASSWORD, clientAddress: ADDRESS })
  t.same(contextOf(fixture.core, changed).authMethods, ['pwd', 'otp', 'mfa'])
  const bob = await passwordSession(fixture, fixture.bob)
  const bobChanged = await fixture.core.changePassword({ userId: fixture.bob.id, sessionId: bob.sessionId, currentPassword: PASSWORD, newPassword: NEW_PASSWORD, clientAddress: ADDRESS })
  t.same(contextOf(fixture.core, bobChanged).authMethods, ['pwd'], 'a password session stays a password session')
  const noSession = await fixture.core.changePassword({ userId: fixture.bob.id, currentPassword: NEW_PASSWORD, newPassword: PASSWORD, clientAddress: ADDRESS })
  t.same(contextOf(fixture.core, noSession).authMethods, ['pwd'], 'no session named: the password just confirmed')
})

async function reset (fixture: MfaFixture, outbox: MailOutbox, email: string): Promise<Awaited<ReturnType<AuthCore['resetPassword']>>> {
  await stateful(fixture.core).accountMail?.passwordReset.request(email, ADDRESS)
  return await fixture.core.resetPassword({ token: linkTokenOf(await outbox.next(email)), newPassword: NEW_PASSWORD, clientAddress: ADDRESS })
}

t.test('a password reset signs in a user without a second factor by password only, and does not sign in one with a second factor', async (t) => {
  const outbox = new MailOutbox()
  const fixture = await mfaCore(t, { core: { mail: { ...MAIL, transport: outbox }, passwordReset: { logIn: true } } })
  const plain = await reset(fixture, outbox, 'bob@example.com')
  t.same(contextOf(fixture.core, plain.session as NonNullable<typeof plain.session>).authMethods, ['pwd'])
  t.match(eventsOf(fixture.events, 'login.succeeded').at(-1), { userId: fixture.bob.id, authMethods: ['pwd'] })

  await enableTotp(fixture, contextOf(fixture.core, await passwordSession(fixture)))
  const withFactor = await reset(fixture, outbox, 'alice@example.com')
  t.equal(withFactor.session, undefined)
  t.equal(withFactor.user.id, fixture.alice.id)
  t.equal((await fixture.core.logIn({ username: 'alice', password: NEW_PASSWORD, clientAddress: ADDRESS })).kind, 'mfa', 'they log in with both steps')
})
