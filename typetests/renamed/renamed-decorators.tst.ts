import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyInstance, type FastifyRequest, type onRequestHookHandler } from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { type AccessTokenClaims, type RoleGuardOptions, type TokenAuthApi } from 'fastify-token-auth'

// Its own project (tsconfig.json here): the names merged below hold for the whole program,
// as they would in an application, and must not reach the other type tests.
declare module 'fastify-token-auth' {
  interface TokenAuthDecoratorNames {
    user: 'principal'
    authenticate: 'requireToken'
    tokenAuth: 'tokens'
  }
}

const app = Fastify()
await app.register(fastifyJwt, { secret: 'x'.repeat(32) })
await app.register(tokenAuth, { secret: 'x'.repeat(32), decorators: { user: 'principal', authenticate: 'requireToken', tokenAuth: 'tokens' } })

test('renamed decorators are typed under their new names', () => {
  expect<FastifyRequest['principal']>().type.toBe<AccessTokenClaims>()
  expect<FastifyInstance['requireToken']>().type.toBe<onRequestHookHandler>()
  expect<FastifyInstance['tokens']>().type.toBe<TokenAuthApi>()
  app.get('/me', { onRequest: app.requireToken }, async (request) => {
    expect(request.principal.sub).type.toBe<string>()
    return request.principal.sub
  })
})

test('@fastify/jwt keeps request.user and its hooks beside ours', () => {
  app.get('/partner', { onRequest: async (request) => await request.jwtVerify() }, async (request) => {
    expect(request.user).type.toBe<string | object | Buffer>()
    return request.user
  })
})

test('the old names are not ours any more', () => {
  expect<FastifyInstance>().type.not.toHaveProperty('authenticate')
  expect<FastifyInstance>().type.not.toHaveProperty('tokenAuth')
  // request.user is @fastify/jwt's, typed by it, beside ours.
  expect<FastifyRequest['user']>().type.toBe<string | object | Buffer>()
})

test('the names left alone keep their defaults', () => {
  expect<FastifyRequest['verifyToken']>().type.toBe<() => Promise<AccessTokenClaims>>()
  expect<FastifyInstance['requireRole']>().type.toBe<(...roles: string[] | [...roles: string[], options: RoleGuardOptions]) => onRequestHookHandler>()
  expect<FastifyInstance['requireMfa']>().type.toBe<onRequestHookHandler>()
})

test('the decorators option must give the merged names', () => {
  const other = Fastify()
  expect(other.register).type.toBeCallableWith(tokenAuth, { secret: 'x', decorators: { user: 'principal' as const, authenticate: 'requireToken' as const, tokenAuth: 'tokens' as const } })
  expect(other.register).type.toBeCallableWith(tokenAuth, { secret: 'x', decorators: { user: 'principal' as const, authenticate: 'requireToken' as const, tokenAuth: 'tokens' as const, requireRole: 'requireRole' as const } })
  expect(other.register).type.not.toBeCallableWith(tokenAuth, { secret: 'x' })
  expect(other.register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', decorators: { user: 'principal' as const } })
  expect(other.register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', decorators: { user: 'principle' as const, authenticate: 'requireToken' as const, tokenAuth: 'tokens' as const } })
})
