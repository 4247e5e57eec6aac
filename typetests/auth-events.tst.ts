import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { type AuthEvent, type AuthEventOf } from 'fastify-token-auth'

test('an event narrows by its type to the fields of that event', () => {
  const handle = (event: AuthEvent): void => {
    if (event.type === 'login.failed') {
      expect(event.reason).type.toBe<'unknown_user' | 'wrong_password' | 'unusable_password' | 'disabled_user' | 'busy' | 'refused' | 'email_not_verified' | 'mfa_code' | 'passkey'>()
      expect(event.userId).type.toBe<string | undefined>()
    }
    if (event.type === 'login.succeeded') {
      expect(event.sessionId).type.toBe<string>()
      expect(event.authMethods).type.toBe<string[]>()
    }
    if (event.type === 'login.mfa_required') expect(event.methods).type.toBe<string[]>()
  }
  expect(handle).type.toBeAssignableTo<(event: AuthEvent) => void>()
  expect<AuthEventOf<'session.refreshed'>>().type.not.toHaveProperty('reason')
  expect<AuthEventOf<'login.failed'>>().type.toHaveProperty('reason')
  expect<AuthEventOf<'login.locked_out'>['cause']>().type.toBe<'failures' | 'in_flight'>()
  expect<AuthEventOf<'session.ended'>['by']>().type.toBe<'user' | 'admin'>()
  expect<AuthEventOf<'password.reset'>['userId']>().type.toBe<string>()
  expect<AuthEventOf<'email.changed'>>().type.not.toHaveProperty('token')
})

test('onAuthEvent takes a sync or an async handler, and nothing else', () => {
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', onAuthEvent: (event: AuthEvent) => { console.log(event.type) } })
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', onAuthEvent: async () => {} })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', onAuthEvent: 'audit.log' })
})
