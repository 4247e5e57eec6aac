import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { loginRoutes, type AccessTokenClaims } from 'fastify-token-auth'

// The application merges its claims into TokenAuthClaims, and every API picks them up.
declare module 'fastify-token-auth' {
  interface TokenAuthClaims {
    roles: string[]
    tenant: string
  }
}

const app = Fastify()
await app.register(tokenAuth, { secret: 'x'.repeat(32) })
await app.register(loginRoutes, { prefix: '/auth' })

test('request.user carries the registered and the merged claims', () => {
  app.get('/me', { onRequest: app.authenticate }, async (request) => {
    expect(request.user.sub).type.toBe<string>()
    expect(request.user.exp).type.toBe<number>()
    expect(request.user.roles).type.toBe<string[]>()
    expect(request.user.tenant).type.toBe<string>()
    expect(request.user).type.toBe<AccessTokenClaims>()
    return request.user.tenant
  })
})

test('verifyToken and tokenAuth.verify resolve to the merged claims', async () => {
  app.get('/peek', async (request) => {
    expect(await request.verifyToken()).type.toBe<AccessTokenClaims>()
    return 'ok'
  })
  expect((await app.tokenAuth.verify('t')).roles).type.toBe<string[]>()
})

test('sign requires sub and the merged claims', () => {
  expect(app.tokenAuth.sign).type.toBeCallableWith({ sub: '1', roles: ['admin'], tenant: 't1' })
  expect(app.tokenAuth.sign).type.toBeCallableWith({ sub: '1', roles: [], tenant: 't1' }, { expiresIn: '5m' })
  expect(app.tokenAuth.sign).type.not.toBeCallableWith({ sub: '1' })
  expect(app.tokenAuth.sign).type.not.toBeCallableWith({ roles: [], tenant: 't1' })
  expect(app.tokenAuth.sign).type.not.toBeCallableWith({ sub: 1, roles: [], tenant: 't1' })
})

test('the guards are onRequest hooks', () => {
  app.get('/admin', { onRequest: [app.authenticate, app.requireRole('admin'), app.requireScope('read')] }, async () => 'ok')
  expect(app.requireRole).type.not.toBeCallableWith(1)
})

test('tokenAuth options are typed', () => {
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', accessTokenTtl: '15m', transport: { prefer: 'header' as const } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', transport: { prefer: 'query' as const } })
})
