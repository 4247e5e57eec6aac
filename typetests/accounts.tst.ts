import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { adminRoutes, type MailTransport } from 'fastify-token-auth'

const links = { passwordReset: 'https://app.example.com/reset-password', emailVerification: 'https://app.example.com/verify-email' }

test('mail takes an SMTP URL, a transport of the application\'s own, or the console, with both links', () => {
  const transport: MailTransport = { send: async () => {} }
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', mail: { transport: 'smtp://mail.example.com:587', from: 'no-reply@example.com', links } })
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', mail: { transport, from: 'no-reply@example.com', links }, requireVerifiedEmail: true })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', mail: { transport: 'console', from: 'no-reply@example.com', links: { passwordReset: links.passwordReset } } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', mail: { transport: 'console', from: 'no-reply@example.com', links }, requireVerifiedEmail: 'yes' })
})

test('adminRoutes takes the role that may use them', () => {
  expect(Fastify().register).type.toBeCallableWith(adminRoutes, { prefix: '/admin', role: 'support' })
  expect(Fastify().register).type.not.toBeCallableWith(adminRoutes, { role: ['admin', 'support'] })
})
