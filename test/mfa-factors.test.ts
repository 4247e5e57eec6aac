import t from 'tap'
import type { AuthCore, MfaChallenge, MfaContext } from 'fastify-token-auth'
import { PASSWORD } from './helpers/app.js'
import { ADDRESS, codeFor, contextOf, decodeBase32, enableTotp, eventsOf, mfaCore, ORIGIN, passwordSession, type MfaFixture } from './helpers/mfa.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'

// A user's own management of their second factors: TOTP enrollment, recovery codes, passkeys,
// and who may change them (a session; once a factor is on, a session signed in with one).

const MFA_REQUIRED = { code: 'FST_TOKEN_AUTH_MFA_REQUIRED', statusCode: 403 }
const CONFLICT = { code: 'FST_TOKEN_AUTH_MFA_CONFLICT', statusCode: 409 }
const CODE_INVALID = { code: 'FST_TOKEN_AUTH_INVALID_MFA_CODE', statusCode: 401 }
const BAD_REQUEST = { code: 'FST_TOKEN_AUTH_INVALID_MFA_REQUEST', statusCode: 400 }
const WRONG_PASSWORD = { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS', statusCode: 401 }
const NOT_FOUND = { code: 'FST_TOKEN_AUTH_PASSKEY_NOT_FOUND', statusCode: 404 }

async function context (fixture: MfaFixture, user = fixture.alice): Promise<MfaContext> {
  return contextOf(fixture.core, await passwordSession(fixture, user))
}

/** A session of alice signed in with her TOTP (amr mfa). */
async function mfaContext (fixture: MfaFixture, secret: string): Promise<MfaContext> {
  fixture.clock.advance(30_000)
  const outcome = await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })
  const { session } = await fixture.core.completeMfaLogin({ challenge: (outcome as { challenge: MfaChallenge }).challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS })
  return contextOf(fixture.core, session)
}

function wrongCode (secret: string, fixture: MfaFixture): string {
  return codeFor(secret, fixture.clock) === '000000' ? '111111' : '000000'
}

t.test('TOTP enrollment: begin (password confirmed), pending until a first code confirms it, then on with recovery codes', async (t) => {
  const fixture = await mfaCore(t)
  const ctx = await context(fixture)
  t.same(await fixture.factors.status(ctx), { totp: 'off', recoveryCodesLeft: 0, passkeys: [] })
  await t.rejects(fixture.factors.beginTotp(ctx, 'wrong password'), WRONG_PASSWORD)
  const enrollment = await fixture.factors.beginTotp(ctx, PASSWORD)
  t.match(enrollment.secret, /^[A-Z2-7]{32}$/)
  t.equal(decodeBase32(enrollment.secret).length, 20)
  t.equal(enrollment.uri, `otpauth://totp/Example:alice?secret=${enrollment.secret}&issuer=Example&algorithm=SHA1&digits=6&period=30`)
  t.match(enrollment.qrSvg, /^<svg [^>]*>.*<\/svg>\s*$/s)
  t.equal((await fixture.factors.status(ctx)).totp, 'pending')
  const stored = await fixture.store.totp.find(fixture.alice.id)
  t.notOk(stored?.encryptedSecret.includes(enrollment.secret), 'the secret is stored encrypted')

  await t.rejects(fixture.factors.confirmTotp(ctx, wrongCode(enrollment.secret, fixture)), CODE_INVALID)
  await t.rejects(fixture.factors.confirmTotp(ctx, 42 as never), BAD_REQUEST)
  const { recoveryCodes } = await fixture.factors.confirmTotp(ctx, codeFor(enrollment.secret, fixture.clock))
  t.equal(recoveryCodes?.length, 10)
  t.same(await fixture.factors.status(ctx), { totp: 'on', recoveryCodesLeft: 10, passkeys: [] })
  t.match(eventsOf(fixture.events, 'mfa.totp_enabled'), [{ userId: fixture.alice.id, sessionId: ctx.sessionId, address: ADDRESS }])
  t.match(eventsOf(fixture.events, 'mfa.recovery_codes_generated'), [{ userId: fixture.alice.id, count: 10 }])
  t.match(eventsOf(fixture.events, 'login.failed'), [{ reason: 'wrong_password' }, { reason: 'mfa_code' }])
  t.notOk(JSON.stringify(fixture.events).includes(enrollment.secret), 'no event holds the secret')
  t.notOk(JSON.stringify(fixture.events).includes(recoveryCodes?.[0] as string), 'nor a recovery code')
})

t.test('a configured issuer names the app entry; a second begin replaces the pending secret', async (t) => {
  const fixture = await mfaCore(t, { mfa: { issuer: 'Acme Co' } })
  const ctx = await context(fixture)
  const first = await fixture.factors.beginTotp(ctx, PASSWORD)
  t.match(first.uri, /^otpauth:\/\/totp\/Acme%20Co:alice\?.*&issuer=Acme%20Co&/)
  const second = await fixture.factors.beginTotp(ctx, PASSWORD)
  await t.rejects(fixture.factors.confirmTotp(ctx, codeFor(first.secret, fixture.clock)), CODE_INVALID, 'the replaced secret')
  await fixture.factors.confirmTotp(ctx, codeFor(second.secret, fixture.clock))
  t.pass()
})

t.test('conflicts: beginning while on, confirming with nothing pending, an enrollment replaced while confirming', async (t) => {
  const fixture = await mfaCore(t)
  const ctx = await context(fixture)
  await t.rejects(fixture.factors.confirmTotp(ctx, '123456'), CONFLICT, 'nothing pending')
  const { secret } = await fixture.factors.beginTotp(ctx, PASSWORD)
  const confirm = fixture.store.totp.confirm
  fixture.store.totp.confirm = async () => false
  await t.rejects(fixture.factors.confirmTotp(ctx, codeFor(secret, fixture.clock)), CONFLICT, 'replaced meanwhile')
  fixture.store.totp.confirm = confirm
  await fixture.factors.confirmTotp(ctx, codeFor(secret, fixture.clock))
  const strong = await mfaContext(fixture, secret)
  await t.rejects(fixture.factors.beginTotp(strong, PASSWORD), CONFLICT, 'on already')
  await t.rejects(fixture.factors.confirmTotp(strong, '123456'), CONFLICT, 'on, nothing pending')
  // Read as off, yet the store refuses to stage: a concurrent confirmation won.
  fixture.store.totp.find = async () => undefined
  fixture.store.totp.stage = async () => false
  await t.rejects(fixture.factors.beginTotp(strong, PASSWORD), CONFLICT, 'confirmed by a concurrent request')
})

t.test('changes need a session token, and once a factor is on, a session signed in with it', async (t) => {
  const fixture = await mfaCore(t)
  const ctx = await context(fixture)
  await t.rejects(fixture.factors.beginTotp({ ...ctx, sessionId: undefined }, PASSWORD), MFA_REQUIRED, 'a token without a session')
  const { secret } = await enableTotp(fixture, ctx)
  await t.rejects(fixture.factors.regenerateRecoveryCodes(ctx, PASSWORD), MFA_REQUIRED, 'the password session that turned it on')
  await t.rejects(fixture.factors.disableTotp(ctx, PASSWORD, { code: codeFor(secret, fixture.clock) }), MFA_REQUIRED)
  await t.rejects(fixture.factors.passkeyRegistrationOptions(ctx, PASSWORD), MFA_REQUIRED)
  t.equal((await fixture.factors.status(ctx)).totp, 'on', 'status needs no second factor')
  const strong = await mfaContext(fixture, secret)
  t.same(strong.authMethods, ['pwd', 'otp', 'mfa'])
  t.equal((await fixture.factors.regenerateRecoveryCodes(strong, PASSWORD)).length, 10)
  await t.rejects(fixture.factors.status({ userId: 'nobody' }).then(async () => await fixture.factors.beginTotp({ ...strong, userId: 'nobody' }, PASSWORD)), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' }, 'a user gone')
})

t.test('turning TOTP off takes the password and a code or a recovery code; with no factor left the recovery codes go', async (t) => {
  const fixture = await mfaCore(t)
  const { secret, recoveryCodes } = await enableTotp(fixture, await context(fixture))
  const strong = await mfaContext(fixture, secret)
  fixture.clock.advance(30_000)
  for (const proof of [{}, { code: '123456', recoveryCode: recoveryCodes[0] }, { code: 123456 }, null, { recoveryCode: 'x'.repeat(65) }]) {
    await t.rejects(fixture.factors.disableTotp(strong, PASSWORD, proof as never), BAD_REQUEST, JSON.stringify(proof))
  }
  await t.rejects(fixture.factors.disableTotp(strong, 'wrong', { code: codeFor(secret, fixture.clock) }), WRONG_PASSWORD)
  await t.rejects(fixture.factors.disableTotp(strong, PASSWORD, { code: wrongCode(secret, fixture) }), CODE_INVALID)
  await t.rejects(fixture.factors.disableTotp(strong, PASSWORD, { recoveryCode: 'abcde-fghjk' }), CODE_INVALID)
  await fixture.factors.disableTotp(strong, PASSWORD, { recoveryCode: recoveryCodes[0] })
  t.same(await fixture.factors.status(strong), { totp: 'off', recoveryCodesLeft: 0, passkeys: [] })
  t.match(eventsOf(fixture.events, 'mfa.totp_disabled'), [{ userId: fixture.alice.id, sessionId: strong.sessionId }])
  t.match(eventsOf(fixture.events, 'mfa.recovery_code_used'), [{ remaining: 9 }])
  await t.rejects(fixture.factors.disableTotp(strong, PASSWORD, { code: '123456' }), CONFLICT, 'not on')
  t.equal((await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })).kind, 'session', 'the password is enough again')

  const again = await enableTotp(fixture, strong)
  t.equal(again.recoveryCodes.length, 10, 'a new enrollment gets a new set')
  const strongAgain = await mfaContext(fixture, again.secret)
  fixture.clock.advance(30_000)
  await fixture.factors.disableTotp(strongAgain, PASSWORD, { code: codeFor(again.secret, fixture.clock) })
  t.equal((await fixture.factors.status(strong)).totp, 'off')
})

t.test('recovery codes: a new set voids the old one; none without a factor', async (t) => {
  const fixture = await mfaCore(t)
  const ctx = await context(fixture)
  await t.rejects(fixture.factors.regenerateRecoveryCodes(ctx, PASSWORD), CONFLICT)
  const { secret, recoveryCodes } = await enableTotp(fixture, ctx)
  const strong = await mfaContext(fixture, secret)
  await t.rejects(fixture.factors.regenerateRecoveryCodes(strong, 'wrong'), WRONG_PASSWORD)
  const fresh = await fixture.factors.regenerateRecoveryCodes(strong, PASSWORD)
  t.equal(fresh.length, 10)
  t.same(fresh.filter((code) => recoveryCodes.includes(code)), [])
  const challenge = async (): Promise<string> => ((await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })) as { challenge: MfaChallenge }).challenge.token
  await t.rejects(fixture.core.completeMfaLogin({ challenge: await challenge(), recoveryCode: recoveryCodes[0], clientAddress: ADDRESS }), CODE_INVALID, 'an old code')
  await fixture.core.completeMfaLogin({ challenge: await challenge(), recoveryCode: fresh[0], clientAddress: ADDRESS })
  t.match(eventsOf(fixture.events, 'mfa.recovery_codes_generated'), [{ count: 10 }, { count: 10, sessionId: strong.sessionId }])
})

t.test('a secret sealed under a key no longer configured matches no code', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await enableTotp(fixture, await context(fixture))
  const factor = await fixture.store.totp.find(fixture.alice.id)
  const [, , ...rest] = (factor?.encryptedSecret as string).split('.')
  fixture.store.totp.find = async () => ({ ...factor as NonNullable<typeof factor>, encryptedSecret: ['v1', '00000000', ...rest].join('.') })
  const outcome = await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })
  await t.rejects(fixture.core.completeMfaLogin({ challenge: (outcome as { challenge: MfaChallenge }).challenge.token, code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), CODE_INVALID)
})

async function registeredPasskey (fixture: MfaFixture, ctx: MfaContext, name = 'laptop', authenticator = new SoftAuthenticator({ origin: ORIGIN })): Promise<{ authenticator: SoftAuthenticator, result: Awaited<ReturnType<MfaFixture['factors']['registerPasskey']>> }> {
  const options = await fixture.factors.passkeyRegistrationOptions(ctx, PASSWORD)
  return { authenticator, result: await fixture.factors.registerPasskey(ctx, name, authenticator.register(options)) }
}

t.test('a passkey is registered from options bound to the session; the first factor brings recovery codes', async (t) => {
  const fixture = await mfaCore(t)
  const ctx = await context(fixture)
  const options = await fixture.factors.passkeyRegistrationOptions(ctx, PASSWORD)
  t.match(options, { rp: { id: 'example.com', name: 'Example' }, user: { name: 'alice' }, attestation: 'none', authenticatorSelection: { residentKey: 'required' } })
  const authenticator = new SoftAuthenticator({ origin: ORIGIN, backupEligible: true, backedUp: true })
  const { passkey, recoveryCodes } = await fixture.factors.registerPasskey(ctx, '  my phone  ', authenticator.register(options))
  const now = Math.floor(fixture.clock.now() / 1000)
  t.same(passkey, { id: authenticator.id, name: 'my phone', createdAt: now, lastUsedAt: null, backedUp: true, deviceType: 'multiDevice', transports: ['internal'] })
  t.equal(recoveryCodes?.length, 10)
  t.same((await fixture.factors.status(ctx)).passkeys, [passkey])
  t.match(eventsOf(fixture.events, 'passkey.added'), [{ userId: fixture.alice.id, passkeyId: authenticator.id, sessionId: ctx.sessionId, address: ADDRESS }])
  t.same(((await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })) as { challenge: MfaChallenge }).challenge.methods, ['recovery_code', 'passkey'])
})

t.test('registration options: the password, the limit, existing passkeys excluded; a challenge from another session or used once is refused', async (t) => {
  const fixture = await mfaCore(t, { passkeys: { rpId: 'example.com', origins: ORIGIN, maxPerUser: 2 } })
  const ctx = await context(fixture)
  await t.rejects(fixture.factors.passkeyRegistrationOptions(ctx, 'wrong'), WRONG_PASSWORD)
  const other = await context(fixture)
  const options = await fixture.factors.passkeyRegistrationOptions(ctx, PASSWORD)
  await t.rejects(fixture.factors.registerPasskey(other, 'x', new SoftAuthenticator({ origin: ORIGIN }).register(options)), BAD_REQUEST, 'another session (and the challenge is spent)')
  await t.rejects(fixture.factors.registerPasskey(ctx, 'x', new SoftAuthenticator({ origin: ORIGIN }).register(options)), BAD_REQUEST, 'spent')
  await t.rejects(fixture.factors.registerPasskey(ctx, 'x', new SoftAuthenticator({ origin: 'https://evil.example' }).register(await fixture.factors.passkeyRegistrationOptions(ctx, PASSWORD))), BAD_REQUEST, 'does not verify')

  const first = await registeredPasskey(fixture, ctx)
  const strong = contextOf(fixture.core, (await fixture.core.passkeyLogIn({ response: first.authenticator.assert(await fixture.core.passkeyLoginOptions({ clientAddress: ADDRESS })), clientAddress: ADDRESS })).session)
  const second = await registeredPasskey(fixture, strong, 'key', new SoftAuthenticator({ origin: ORIGIN }))
  t.equal(second.result.recoveryCodes, undefined, 'not the first factor: no new codes')
  t.match((await fixture.factors.passkeyRegistrationOptions({ ...strong }, PASSWORD).catch((error: unknown) => error)), { code: 'FST_TOKEN_AUTH_PASSKEY_LIMIT', statusCode: 409 })
  await fixture.factors.removePasskey(strong, PASSWORD, second.authenticator.id)
  const options2 = await fixture.factors.passkeyRegistrationOptions(strong, PASSWORD)
  t.same(options2.excludeCredentials?.map((credential) => credential.id), [first.authenticator.id])
  await t.rejects(fixture.factors.registerPasskey(strong, 'again', first.authenticator.register(options2)), CONFLICT, 'registered already')
})

t.test('a registration refused by the store: over the limit (a concurrent one won), or for a user disabled meanwhile', async (t) => {
  const fixture = await mfaCore(t, { passkeys: { rpId: 'example.com', origins: ORIGIN, maxPerUser: 1 } })
  const { secret } = await enableTotp(fixture, await context(fixture))
  const strong = await mfaContext(fixture, secret)
  const [optionsA, optionsB, optionsC] = [
    await fixture.factors.passkeyRegistrationOptions(strong, PASSWORD),
    await fixture.factors.passkeyRegistrationOptions(strong, PASSWORD),
    await fixture.factors.passkeyRegistrationOptions(strong, PASSWORD)
  ]
  await fixture.factors.registerPasskey(strong, 'a', new SoftAuthenticator({ origin: ORIGIN }).register(optionsA))
  await t.rejects(fixture.factors.registerPasskey(strong, 'b', new SoftAuthenticator({ origin: ORIGIN }).register(optionsB)), { code: 'FST_TOKEN_AUTH_PASSKEY_LIMIT', statusCode: 409 })
  await fixture.factors.removePasskey(strong, PASSWORD, (await fixture.factors.status(strong)).passkeys[0].id)
  // The store refuses for a user disabled (or deleted) after the checks.
  fixture.store.passkeys.insert = async () => false
  await t.rejects(fixture.factors.registerPasskey(strong, 'c', new SoftAuthenticator({ origin: ORIGIN }).register(optionsC)), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
})

t.test('passkey names: trimmed, 1 to 100 characters, no control characters; renames and removals of others\' passkeys are 404', async (t) => {
  const fixture = await mfaCore(t)
  const ctx = await context(fixture)
  for (const name of ['', '   ', 'x'.repeat(101), 'tab\there', 42]) {
    await t.rejects(fixture.factors.registerPasskey(ctx, name as string, {}), BAD_REQUEST, JSON.stringify(name))
  }
  const { authenticator } = await registeredPasskey(fixture, ctx)
  const strong = contextOf(fixture.core, (await fixture.core.passkeyLogIn({ response: authenticator.assert(await fixture.core.passkeyLoginOptions({ clientAddress: ADDRESS })), clientAddress: ADDRESS })).session)
  const renamed = await fixture.factors.renamePasskey(strong, authenticator.id, ' work laptop ')
  t.equal(renamed.name, 'work laptop')
  t.match(eventsOf(fixture.events, 'passkey.renamed'), [{ userId: fixture.alice.id, passkeyId: authenticator.id }])
  await t.rejects(fixture.factors.renamePasskey(strong, authenticator.id, ''), BAD_REQUEST)
  await t.rejects(fixture.factors.renamePasskey(strong, 'unknown', 'x'), NOT_FOUND)
  await t.rejects(fixture.factors.renamePasskey(strong, 42 as never, 'x'), NOT_FOUND)
  const bob = await context(fixture, fixture.bob)
  await t.rejects(fixture.factors.renamePasskey(bob, authenticator.id, 'mine'), NOT_FOUND, 'another user\'s')
  await t.rejects(fixture.factors.removePasskey(bob, PASSWORD, authenticator.id), NOT_FOUND)
  await t.rejects(fixture.factors.removePasskey(strong, 'wrong', authenticator.id), WRONG_PASSWORD)
  const rename = fixture.store.passkeys.rename
  fixture.store.passkeys.rename = async () => true
  const listByUser = fixture.store.passkeys.listByUser
  fixture.store.passkeys.listByUser = async () => []
  await t.rejects(fixture.factors.renamePasskey(strong, authenticator.id, 'y'), NOT_FOUND, 'removed between the rename and the read')
  fixture.store.passkeys.rename = rename
  fixture.store.passkeys.listByUser = listByUser

  await fixture.factors.removePasskey(strong, PASSWORD, authenticator.id)
  t.same(await fixture.factors.status(strong), { totp: 'off', recoveryCodesLeft: 0, passkeys: [] }, 'the last factor gone, the codes too')
  t.match(eventsOf(fixture.events, 'passkey.removed'), [{ userId: fixture.alice.id, passkeyId: authenticator.id, sessionId: strong.sessionId }])
  await t.rejects(fixture.factors.removePasskey(strong, PASSWORD, authenticator.id), NOT_FOUND, 'removed once')
})

t.test('with TOTP on, removing a passkey keeps the recovery codes', async (t) => {
  const fixture = await mfaCore(t)
  const { secret } = await enableTotp(fixture, await context(fixture))
  const strong = await mfaContext(fixture, secret)
  const { authenticator, result } = await registeredPasskey(fixture, strong)
  t.equal(result.recoveryCodes, undefined)
  await fixture.factors.removePasskey(strong, PASSWORD, authenticator.id)
  t.equal((await fixture.factors.status(strong)).recoveryCodesLeft, 10)
})

t.test('passkeys off: their methods are 400', async (t) => {
  const fixture = await mfaCore(t, { passkeys: null })
  const ctx = await context(fixture)
  await t.rejects(fixture.factors.passkeyRegistrationOptions(ctx, PASSWORD), BAD_REQUEST)
  await t.rejects(fixture.factors.registerPasskey(ctx, 'x', {}), BAD_REQUEST)
  await t.rejects(fixture.core.passkeyLoginOptions({ clientAddress: ADDRESS }), BAD_REQUEST)
  await t.rejects(fixture.core.passkeyLogIn({ response: {}, clientAddress: ADDRESS }), BAD_REQUEST)
  t.ok((fixture.core.stateful as NonNullable<AuthCore['stateful']>).mfa)
})

t.test('a user with a passkey turns TOTP on: their recovery codes stay; a code works only once TOTP is confirmed', async (t) => {
  const fixture = await mfaCore(t)
  const { authenticator, result } = await registeredPasskey(fixture, await context(fixture))
  const strong = contextOf(fixture.core, (await fixture.core.passkeyLogIn({ response: authenticator.assert(await fixture.core.passkeyLoginOptions({ clientAddress: ADDRESS })), clientAddress: ADDRESS })).session)
  const challenge = async (): Promise<string> => ((await fixture.core.logIn({ username: 'alice', password: PASSWORD, clientAddress: ADDRESS })) as { challenge: MfaChallenge }).challenge.token
  await t.rejects(fixture.core.completeMfaLogin({ challenge: await challenge(), code: '123456', clientAddress: ADDRESS }), CODE_INVALID, 'no TOTP at all')
  const { secret } = await fixture.factors.beginTotp(strong, PASSWORD)
  await t.rejects(fixture.core.completeMfaLogin({ challenge: await challenge(), code: codeFor(secret, fixture.clock), clientAddress: ADDRESS }), CODE_INVALID, 'TOTP only pending')
  const confirmed = await fixture.factors.confirmTotp(strong, codeFor(secret, fixture.clock))
  t.equal(confirmed.recoveryCodes, undefined, 'the codes the passkey brought stay')
  t.equal((await fixture.factors.status(strong)).recoveryCodesLeft, result.recoveryCodes?.length)
})
