import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { apiKeyRoutes, createMemoryStore, type ApiKeySummary, type CreatedApiKey } from 'fastify-token-auth'

const app = Fastify()
await app.register(tokenAuth, { secret: 'x'.repeat(32), store: createMemoryStore(), apiKeys: { scopes: { 'reports:read': true, 'reports:write': ['editor'] } } })

test('the apiKeys option takes a scope catalogue of roles or true, a nullable lifetime and a cache', () => {
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', apiKeys: { maxLifetime: null, cache: { ttl: '30s', maxEntries: 0 }, allowByDefault: true } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', apiKeys: { scopes: { 'reports:read': 'editor' } } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', apiKeys: { allowByDefault: 'yes' } })
})

test('a route says whether it accepts API keys with a boolean config.allowApiKeys', () => {
  expect(app.get).type.toBeCallableWith('/reports', { config: { allowApiKeys: true } }, async () => 'ok')
  expect(app.get).type.toBeCallableWith('/account', { config: { allowApiKeys: false } }, async () => 'ok')
  expect(app.get).type.not.toBeCallableWith('/reports', { config: { allowApiKeys: 'yes' } }, async () => 'ok')
})

test('request.user tells a key from a token by authMethod and keyId', () => {
  app.get('/me', { onRequest: app.authenticate }, async (request) => {
    expect(request.user.authMethod).type.toBe<'api_key' | undefined>()
    expect(request.user.keyId).type.toBe<string | undefined>()
    return request.user.sub
  })
})

test('apiKeyRoutes takes only Fastify\'s register options', () => {
  expect(Fastify().register).type.toBeCallableWith(apiKeyRoutes, { prefix: '/auth' })
  expect(Fastify().register).type.not.toBeCallableWith(apiKeyRoutes, { prefix: '/auth', role: 'admin' })
})

test('app.tokenAuth.apiKeys creates, lists, renames and revokes', async () => {
  const keys = app.tokenAuth.apiKeys
  expect(await keys.create('user-1', { name: 'ci', scopes: ['reports:read'], expiresIn: 3600 })).type.toBe<CreatedApiKey>()
  expect(keys.create).type.not.toBeCallableWith('user-1', { name: 'ci' })
  expect(await keys.list('user-1')).type.toBe<ApiKeySummary[]>()
  expect(await keys.rename('user-1', 'key-id', 'new name')).type.toBe<ApiKeySummary>()
  expect(keys.revoke).type.toBeCallableWith('user-1', 'key-id', { actorId: 'admin-1' }, 'admin')
  expect(keys.revoke).type.not.toBeCallableWith('user-1', 'key-id', {}, 'someone')
  expect(await keys.revokeAll('user-1')).type.toBe<number>()
})
