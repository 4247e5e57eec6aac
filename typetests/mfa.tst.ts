import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { createAuthCore, createMemoryStore, type LoginOutcome, type MfaChallenge, type MfaMethod, type SignedIn } from 'fastify-token-auth'

test('the mfa option takes an encryption key (or a list), an issuer, a challenge lifetime and passkeys', () => {
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', mfa: { encryptionKey: 'k', issuer: 'Acme', challengeTtl: '2m' } })
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', mfa: { encryptionKey: ['new', new Uint8Array(32)], passkeys: { rpId: 'example.com', origins: ['https://example.com'], maxPerUser: 5 } } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', mfa: { issuer: 'Acme' } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', mfa: { encryptionKey: 'k', passkeys: { rpId: 'example.com' } } })
})

test('a login resolves a session or the second step, told apart by kind', async () => {
  const core = createAuthCore({ secret: 'x'.repeat(32), store: createMemoryStore(), mfa: { encryptionKey: 'k'.repeat(32) } })
  const outcome = await core.logIn({ username: 'alice', password: 'p', clientAddress: '::1' })
  expect(outcome).type.toBe<LoginOutcome>()
  if (outcome.kind === 'mfa') {
    expect(outcome.challenge).type.toBe<MfaChallenge>()
    expect(outcome.challenge.methods).type.toBe<MfaMethod[]>()
    expect(outcome).type.not.toHaveProperty('session')
  } else {
    expect(outcome.deviceToken).type.toBe<string>()
  }
  expect(await core.completeMfaLogin({ challenge: 'c', code: '123456', clientAddress: '::1' })).type.toBe<SignedIn>()
})
