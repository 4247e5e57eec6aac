import Fastify, { type FastifyInstance, type FastifyRequest, type onRequestHookHandler } from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { type AccessTokenClaims, type RoleGuardOptions, type TokenAuthApi } from 'fastify-token-auth'

// Nothing renamed (no TokenAuthDecoratorNames merged in this project): the default names.

test('the request decorators carry their default names', () => {
  expect<FastifyRequest['user']>().type.toBe<AccessTokenClaims>()
  expect<FastifyRequest['verifyToken']>().type.toBe<() => Promise<AccessTokenClaims>>()
})

test('the instance decorators carry their default names', () => {
  expect<FastifyInstance['tokenAuth']>().type.toBe<TokenAuthApi>()
  expect<FastifyInstance['authenticate']>().type.toBe<onRequestHookHandler>()
  expect<FastifyInstance['requireRole']>().type.toBe<(...roles: string[] | [...roles: string[], options: RoleGuardOptions]) => onRequestHookHandler>()
  expect<FastifyInstance['requireScope']>().type.toBe<(...scopes: string[]) => onRequestHookHandler>()
  expect<FastifyInstance['requireMfa']>().type.toBe<onRequestHookHandler>()
})

test('the decorators option is optional and takes only the names the types know', () => {
  const app = Fastify()
  expect(app.register).type.toBeCallableWith(tokenAuth, { secret: 'x' })
  expect(app.register).type.toBeCallableWith(tokenAuth, { secret: 'x', decorators: { user: 'user' as const } })
  // Renaming needs the names merged into TokenAuthDecoratorNames first, or the types would lie.
  expect(app.register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', decorators: { user: 'principal' as const } })
  expect(app.register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', decorators: { session: 'session' as const } })
})
