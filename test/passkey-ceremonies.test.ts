import t from 'tap'
import { newChallenge } from '../lib/mfa/login-challenges.js'
import { PasskeyCeremonies, userHandleOf } from '../lib/mfa/passkey-ceremonies.js'
import { checkedAuthenticationResponse, checkedRegistrationResponse, signedChallenge } from '../lib/mfa/passkey-response.js'
import type { PasskeyRecord, UserRecord } from '../lib/store/ports.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'

// The WebAuthn wrapper over @simplewebauthn/server, driven by a software authenticator:
// what the options say, what verifies, and that a hostile response is a refusal, never a crash.

const ORIGIN = 'https://example.com'
const party = new PasskeyCeremonies({ rpId: 'example.com', rpName: 'Example', origins: [ORIGIN, 'http://localhost:3000'], timeoutSeconds: 300 })
const user: UserRecord = { id: 'user-1', username: 'alice', email: null, emailVerifiedAt: null, roles: [], disabled: false, tokenVersion: 0, passwordHash: 'x', createdAt: 0, profile: {} }
const BAD_REQUEST = { code: 'FST_TOKEN_AUTH_INVALID_MFA_REQUEST', statusCode: 400 }

async function registered (authenticator = new SoftAuthenticator({ origin: ORIGIN })): Promise<{ authenticator: SoftAuthenticator, passkey: PasskeyRecord }> {
  const { value } = newChallenge()
  const options = await party.registrationOptions(user, [], value)
  const verified = await party.verifyRegistration(checkedRegistrationResponse(authenticator.register(options)), value)
  if (verified === undefined) throw new Error('registration did not verify')
  return { authenticator, passkey: { ...verified, userId: user.id, name: 'key', createdAt: 0, lastUsedAt: null } }
}

t.test('creation options: our challenge, a discoverable credential, no attestation, the user handle, existing ones excluded', async (t) => {
  const { value } = newChallenge()
  const { passkey } = await registered()
  const options = await party.registrationOptions(user, [passkey], value)
  t.equal(options.challenge, value)
  t.same(options.rp, { id: 'example.com', name: 'Example' })
  t.same(options.user, { id: Buffer.from('user-1').toString('base64url'), name: 'alice', displayName: '' })
  t.equal(options.attestation, 'none')
  t.match(options.authenticatorSelection, { residentKey: 'required', userVerification: 'preferred' })
  t.same(options.excludeCredentials, [{ id: passkey.id, type: 'public-key', transports: ['internal'] }])
  t.equal(options.timeout, 300_000)
  t.same(userHandleOf('user-1'), new Uint8Array(Buffer.from('user-1')))
})

t.test('request options: the user\'s passkeys with presence enough, or none listed with verification required', async (t) => {
  const { value } = newChallenge()
  const { passkey } = await registered()
  const second = await party.authenticationOptions([passkey], value)
  t.match(second, { challenge: value, rpId: 'example.com', userVerification: 'discouraged', allowCredentials: [{ id: passkey.id, type: 'public-key' }] })
  const alone = await party.authenticationOptions(undefined, value)
  t.match(alone, { challenge: value, rpId: 'example.com', userVerification: 'required' })
  t.equal(alone.allowCredentials, undefined, 'none listed: the browser offers any discoverable passkey')
})

t.test('a registration verifies into what the store keeps', async (t) => {
  const { authenticator, passkey } = await registered(new SoftAuthenticator({ origin: ORIGIN, backupEligible: true, backedUp: true }))
  t.equal(passkey.id, authenticator.id)
  t.match(passkey, { counter: 1, transports: ['internal'], deviceType: 'multiDevice', backedUp: true })
  t.match(passkey.publicKey, /^[A-Za-z0-9_-]+$/)
})

t.test('a registration for another challenge, origin, RP or type does not verify', async (t) => {
  const { value } = newChallenge()
  const options = await party.registrationOptions(user, [], value)
  const cases = [{ challenge: newChallenge().value }, { origin: 'https://evil.example' }, { rpId: 'evil.example' }, { type: 'webauthn.get' }, { userPresent: false }, { badPackedAttestation: true }]
  for (const tweaks of cases) {
    const response = checkedRegistrationResponse(new SoftAuthenticator({ origin: ORIGIN }).register(options, tweaks))
    t.equal(await party.verifyRegistration(response, value), undefined, JSON.stringify(tweaks))
  }
  const garbage = checkedRegistrationResponse({ ...new SoftAuthenticator({ origin: ORIGIN }).register(options), response: { clientDataJSON: 'e30', attestationObject: 'AAAA' } })
  t.equal(await party.verifyRegistration(garbage, value), undefined, 'a library error is a refusal')
})

t.test('an assertion verifies with a growing counter, and tells the backup state', async (t) => {
  const { authenticator, passkey } = await registered()
  const { value } = newChallenge()
  const options = await party.authenticationOptions([passkey], value)
  t.same(await party.verifyAuthentication(checkedAuthenticationResponse(authenticator.assert(options)), passkey, value, true), { counter: 2, deviceType: 'singleDevice', backedUp: false })
  t.equal(await party.verifyAuthentication(checkedAuthenticationResponse(authenticator.assert(options, { counter: 1 })), passkey, value, false), undefined, 'a counter that did not grow')
  const zero = await registered(new SoftAuthenticator({ origin: ORIGIN, keepsCounter: false }))
  t.match(await party.verifyAuthentication(checkedAuthenticationResponse(zero.authenticator.assert(options)), zero.passkey, value, false), { counter: 0 }, 'an authenticator without a counter')
})

t.test('an assertion with a wrong signature, challenge, origin or RP, or without verification when required, does not verify', async (t) => {
  const { authenticator, passkey } = await registered()
  const { value } = newChallenge()
  const options = await party.authenticationOptions([passkey], value)
  for (const tweaks of [{ badSignature: true }, { challenge: newChallenge().value }, { origin: 'https://evil.example' }, { rpId: 'evil.example' }, { userVerified: false }]) {
    t.equal(await party.verifyAuthentication(checkedAuthenticationResponse(authenticator.assert(options, tweaks)), passkey, value, true), undefined, JSON.stringify(tweaks))
  }
  t.ok(await party.verifyAuthentication(checkedAuthenticationResponse(authenticator.assert(options, { userVerified: false })), passkey, value, false), 'presence is enough when verification is not required')
  const otherKey = (await registered()).passkey
  t.equal(await party.verifyAuthentication(checkedAuthenticationResponse(authenticator.assert(options)), { ...passkey, publicKey: otherKey.publicKey }, value, false), undefined, 'another key')
  t.equal(await party.verifyAuthentication(checkedAuthenticationResponse(authenticator.assert(options)), { ...passkey, publicKey: 'AAAA' }, value, false), undefined, 'a stored key that does not decode')
})

t.test('malformed responses are 400 before anything is verified, and only known fields go through', async (t) => {
  const authenticator = new SoftAuthenticator({ origin: ORIGIN })
  const { value } = newChallenge()
  const good = authenticator.assert({ challenge: value, rpId: 'example.com' })
  const huge = 'A'.repeat(100_000)
  const bad: unknown[] = [
    null, 'text', [], {}, { ...good, id: 42 }, { ...good, id: '' }, { ...good, id: 'not base64url!' }, { ...good, id: 'A'.repeat(1365), rawId: 'A'.repeat(1365) },
    { ...good, rawId: 'other' }, { ...good, type: 'password' }, { ...good, response: null }, { ...good, response: [] },
    { ...good, response: { ...good.response, clientDataJSON: huge } }, { ...good, response: { ...good.response, signature: 7 } },
    { ...good, response: { ...good.response, authenticatorData: undefined } }, { ...good, response: { ...good.response, userHandle: 'A'.repeat(129) } }
  ]
  for (const response of bad) t.throws(() => checkedAuthenticationResponse(response), BAD_REQUEST, JSON.stringify(response)?.slice(0, 80))
  t.same(checkedAuthenticationResponse({ ...good, extra: 'x', response: { ...good.response, userHandle: null, more: 1 } }), { ...good, response: { clientDataJSON: good.response.clientDataJSON, authenticatorData: good.response.authenticatorData, signature: good.response.signature } })

  const registration = authenticator.register(await party.registrationOptions(user, [], value))
  for (const transports of ['usb', [1], ['USB'], Array(11).fill('usb'), ['x'.repeat(33)]]) {
    t.throws(() => checkedRegistrationResponse({ ...registration, response: { ...registration.response, transports } }), BAD_REQUEST, JSON.stringify(transports))
  }
  t.throws(() => checkedRegistrationResponse({ ...registration, response: { ...registration.response, attestationObject: 'A'.repeat(16385) } }), BAD_REQUEST)
  t.same(checkedRegistrationResponse({ ...registration, response: { clientDataJSON: registration.response.clientDataJSON, attestationObject: registration.response.attestationObject } }).response.transports, [], 'no transports: none')
})

t.test('the signed challenge is read from clientDataJSON; one that holds none is 400', async (t) => {
  const { value } = newChallenge()
  const good = new SoftAuthenticator({ origin: ORIGIN }).assert({ challenge: value, rpId: 'example.com' })
  t.equal(signedChallenge(good), value)
  const withClientData = (text: string): { response: { clientDataJSON: string } } => ({ response: { clientDataJSON: Buffer.from(text).toString('base64url') } })
  for (const text of ['not json', '[]', 'null', '{}', '{"challenge":5}']) t.throws(() => signedChallenge(withClientData(text)), BAD_REQUEST, text)
})
