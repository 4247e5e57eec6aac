import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { createMemoryStore, mfaRoutes, type MfaManagement, type MfaStatus, type PasskeyView, type TotpEnrollment } from 'fastify-token-auth'

const app = Fastify()
await app.register(tokenAuth, {
  secret: 'x'.repeat(32),
  store: createMemoryStore(),
  mfa: { encryptionKey: 'k'.repeat(32), challengeTtl: '5m', passkeys: { rpId: 'example.com', origins: ['https://example.com'] } }
})

test('requireRole takes role names and, last, { mfa }; requireMfa is a hook', () => {
  expect(app.get).type.toBeCallableWith('/admin', { onRequest: app.requireRole('admin', 'owner', { mfa: true }) }, async () => 'ok')
  expect(app.get).type.toBeCallableWith('/admin', { onRequest: app.requireRole('admin') }, async () => 'ok')
  expect(app.get).type.toBeCallableWith('/audit', { onRequest: app.requireMfa }, async () => 'ok')
  expect(app.requireRole).type.not.toBeCallableWith('admin', { mfa: 'yes' })
  expect(app.requireRole).type.not.toBeCallableWith('admin', { mfa: true }, 'owner')
  expect(app.requireRole).type.not.toBeCallableWith('admin', { role: 'owner' })
})

test('request.user says how its session signed in (amr)', () => {
  app.get('/me', { onRequest: app.authenticate }, async (request) => {
    expect(request.user.amr).type.toBe<string[] | undefined>()
    return request.user.sub
  })
})

test('mfaRoutes takes only Fastify\'s register options', () => {
  expect(Fastify().register).type.toBeCallableWith(mfaRoutes, { prefix: '/auth/mfa' })
  expect(Fastify().register).type.not.toBeCallableWith(mfaRoutes, { prefix: '/auth/mfa', passkeys: true })
})

test('app.tokenAuth.mfa manages a user\'s factors from a request\'s context', async () => {
  const mfa = app.tokenAuth.mfa
  expect(mfa).type.toBe<MfaManagement>()
  const context = { userId: 'u1', sessionId: 's1', authMethods: ['pwd'], address: '192.0.2.1' }
  expect(await mfa.status({ userId: 'u1' })).type.toBe<MfaStatus>()
  expect(await mfa.beginTotp(context, 'password')).type.toBe<TotpEnrollment>()
  expect(await mfa.confirmTotp(context, '123456')).type.toBe<{ recoveryCodes: string[] | undefined }>()
  expect(mfa.disableTotp).type.toBeCallableWith(context, 'password', { recoveryCode: 'abcde-12345' })
  expect(mfa.disableTotp).type.not.toBeCallableWith(context, 'password', { otp: '123456' })
  expect(await mfa.regenerateRecoveryCodes(context, 'password')).type.toBe<string[]>()
  expect(await mfa.renamePasskey(context, 'id', 'name')).type.toBe<PasskeyView>()
  expect(mfa.beginTotp).type.not.toBeCallableWith({ userId: 'u1' }, 'password')
})
