import t from 'tap'
import { createAuthCore, createMemoryStore, type AuthCore, type AuthStore } from 'fastify-token-auth'
import { Housekeeping } from '../lib/sessions/housekeeping.js'
import { PASSWORD, SECRET } from './helpers/app.js'
import { ADDRESS, apiKeyCore, authenticated, eventsOf, SCOPES } from './helpers/api-keys.js'
import { linkTokenOf, MailOutbox } from './helpers/mail-outbox.js'

// API keys in the core: what a user may create, what a key is worth, and everything that ends one.

const DAY = 86400

function ownTokens (core: AuthCore): NonNullable<AuthCore['tokens']> {
  return core.tokens as NonNullable<AuthCore['tokens']>
}

t.test('a key is created for a user, shown once, listed without its secret, and authenticates as the user', async (t) => {
  const { apiKeys, alice, clock, events, store } = await apiKeyCore(t)
  const now = Math.floor(clock.now() / 1000)
  const { key, apiKey } = await apiKeys.create(alice.id, { name: '  deploy bot  ', scopes: ['reports:read', 'profile:read'] }, { sessionId: 'session-1', address: ADDRESS })
  t.same(apiKey, { id: apiKey.id, name: 'deploy bot', start: key.slice(0, 15), scopes: ['reports:read', 'profile:read'], createdAt: now, expiresAt: now + 365 * DAY, lastUsedAt: null })
  t.same(await apiKeys.list(alice.id), [apiKey])
  t.same(await apiKeys.list('nobody'), [])
  const stored = await store.apiKeys.listByUser(alice.id)
  t.equal(stored[0].createdBySession, 'session-1')
  t.match(eventsOf(events, 'api_key.created'), [{ userId: alice.id, keyId: apiKey.id, scopes: ['reports:read', 'profile:read'], sessionId: 'session-1', address: ADDRESS }])
  const identity = await authenticated(apiKeys, key)
  t.same(identity, {
    sub: alice.id,
    roles: ['developer', 'reader'],
    scope: 'reports:read profile:read',
    authMethod: 'api_key',
    keyId: apiKey.id,
    jti: apiKey.id,
    iat: now,
    exp: now + 365 * DAY
  })
  t.ok(Object.isFrozen(identity), 'frozen')
  t.ok(Object.isFrozen(identity.roles), 'deeply')
  t.notOk(JSON.stringify(events).includes(key), 'no event holds the key')
  t.notOk(JSON.stringify(events).includes(stored[0].hash), 'nor its hash')
})

t.test('an application created key (no session) has no createdBySession, and keys list oldest first', async (t) => {
  const { apiKeys, alice, clock, store, events } = await apiKeyCore(t)
  const first = await apiKeys.create(alice.id, { name: 'one', scopes: [] })
  clock.advance(1000)
  const second = await apiKeys.create(alice.id, { name: 'two', scopes: [] })
  t.same((await apiKeys.list(alice.id)).map((key) => key.name), ['one', 'two'])
  t.equal((await store.apiKeys.listByUser(alice.id))[0].createdBySession, null)
  t.notOk('sessionId' in eventsOf(events, 'api_key.created')[0], 'no session is named when there was none')
  const identity = await authenticated(apiKeys, second.key)
  t.notOk('scope' in identity, 'no scope claim for a key without scopes')
  t.not(first.apiKey.id, second.apiKey.id)
})

t.test('the identity carries the application\'s claims, and the key\'s own facts win over same-named ones', async (t) => {
  const shared = { org: { id: 'acme' } }
  const { apiKeys, alice } = await apiKeyCore(t, {
    core: { claims: (user) => ({ ...shared, name: user.username, sub: 'someone else', scope: 'everything', exp: 1, jti: 'x', authMethod: 'password' }) },
    apiKeys: { scopes: SCOPES, maxLifetime: null }
  })
  const { key, apiKey } = await apiKeys.create(alice.id, { name: 'ci', scopes: ['reports:write'] })
  t.equal(apiKey.expiresAt, null, 'never expires when maxLifetime is null and no expiresIn is given')
  const identity = await authenticated(apiKeys, key)
  t.same(identity, { sub: alice.id, org: { id: 'acme' }, name: 'alice', scope: 'reports:write', authMethod: 'api_key', keyId: apiKey.id, jti: apiKey.id, iat: apiKey.createdAt })
  t.notOk('exp' in identity, 'no exp for a key that never expires')
  t.notOk(Object.isFrozen(shared.org), 'the application\'s own objects are left alone')
})

t.test('a key\'s name: trimmed, 1 to 100 characters, no control characters', async (t) => {
  const { apiKeys, alice } = await apiKeyCore(t)
  const refused = { code: 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST', statusCode: 400 }
  for (const name of ['', '   ', 'x'.repeat(101), 'tab\there', 'line\nbreak', 'bell\u0007', 'lone \ud800 surrogate', 42, undefined, null]) {
    await t.rejects(apiKeys.create(alice.id, { name: name as string, scopes: [] }), refused, `name ${JSON.stringify(name)}`)
  }
  t.equal((await apiKeys.create(alice.id, { name: 'x'.repeat(100), scopes: [] })).apiKey.name.length, 100)
  t.equal((await apiKeys.create(alice.id, { name: 'café 🔑', scopes: [] })).apiKey.name, 'café 🔑')
  await t.rejects(apiKeys.create(alice.id, null as never), refused, 'no request at all')
  await t.rejects(apiKeys.create(alice.id, 'name' as never), refused)
})

t.test('scopes: each in the catalogue (400) and granted by the user\'s current roles (403), at most 64, no repeats', async (t) => {
  const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`s${i}`, true as const]))
  const { apiKeys, alice } = await apiKeyCore(t, { apiKeys: { scopes: { ...SCOPES, ...many } } })
  const badRequest = { code: 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST', statusCode: 400 }
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: ['reports:delete'] }), { ...badRequest, message: /not one of this service's scopes/ })
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: ['reports:read', 'reports:read'] }), { ...badRequest, message: /named twice/ })
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: Object.keys(many).slice(0, 65) }), { ...badRequest, message: /at most 64/ })
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: 'reports:read' as never }), badRequest)
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: [1] as never }), badRequest)
  await t.rejects(apiKeys.create(alice.id, { name: 'k' } as never), badRequest)
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: ['reports:read', 'admin:all'] }), { code: 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', statusCode: 403, message: /admin:all/ })
  t.equal((await apiKeys.create(alice.id, { name: 'k', scopes: Object.keys(many).slice(0, 64) })).apiKey.scopes.length, 64)
  t.same(apiKeys.grantableScopes(['developer']), ['profile:read', 'reports:read', 'reports:write', ...Object.keys(many)])
  t.same(apiKeys.grantableScopes([]).slice(0, 2), ['profile:read', 's0'])
  t.same(apiKeys.grantableScopes(['admin']).slice(0, 2), ['profile:read', 'admin:all'])
  t.same(await apiKeys.grantableScopesOf(alice.id), apiKeys.grantableScopes(['developer', 'reader']), 'by the user\'s stored roles')
  t.same(await apiKeys.grantableScopesOf('nobody'), [])
})

t.test('lifetime: 60 s to maxLifetime, maxLifetime when not given', async (t) => {
  const { apiKeys, alice, clock } = await apiKeyCore(t, { apiKeys: { maxLifetime: '30d' } })
  const now = Math.floor(clock.now() / 1000)
  const badRequest = { code: 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST', statusCode: 400 }
  for (const expiresIn of [59, 30 * DAY + 1, 90.5, '3600', null, -1]) {
    await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: [], expiresIn: expiresIn as number }), badRequest, `expiresIn ${String(expiresIn)}`)
  }
  t.equal((await apiKeys.create(alice.id, { name: 'k', scopes: [] })).apiKey.expiresAt, now + 30 * DAY)
  t.equal((await apiKeys.create(alice.id, { name: 'k', scopes: [], expiresIn: 60 })).apiKey.expiresAt, now + 60)
  t.equal((await apiKeys.create(alice.id, { name: 'k', scopes: [], expiresIn: 30 * DAY })).apiKey.expiresAt, now + 30 * DAY)
})

t.test('with maxLifetime null a lifetime may still be given, up to ten years', async (t) => {
  const { apiKeys, alice, clock } = await apiKeyCore(t, { apiKeys: { maxLifetime: null } })
  const now = Math.floor(clock.now() / 1000)
  t.equal((await apiKeys.create(alice.id, { name: 'k', scopes: [], expiresIn: 3650 * DAY })).apiKey.expiresAt, now + 3650 * DAY)
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: [], expiresIn: 3650 * DAY + 1 }), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST' })
})

t.test('an expired key is refused, cached or not, and counted against the address', async (t) => {
  const { apiKeys, alice, clock, events, store } = await apiKeyCore(t, { apiKeys: { cache: { ttl: '1h' }, failuresPerAddress: 1 } })
  const { key } = await apiKeys.create(alice.id, { name: 'short', scopes: [], expiresIn: 60 })
  t.ok(await authenticated(apiKeys, key), 'valid, and now cached')
  clock.advance(60_000)
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'from the cache')
  t.match(eventsOf(events, 'api_key.rejected'), [{ reason: 'expired', keyId: (await store.apiKeys.listByUser(alice.id))[0].id, userId: alice.id }])
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_RATE_LIMITED' }, 'the failure was counted: the allowance of one is spent')
  await t.rejects(authenticated(apiKeys, key, '198.51.100.1'), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'looked up again from another address')
  t.equal(eventsOf(events, 'api_key.rejected').at(-1)?.reason, 'expired')
})

t.test('maxPerUser: past it 409, and a revoked key makes room', async (t) => {
  const { apiKeys, alice } = await apiKeyCore(t, { apiKeys: { maxPerUser: 2 } })
  const first = await apiKeys.create(alice.id, { name: 'one', scopes: [] })
  await apiKeys.create(alice.id, { name: 'two', scopes: [] })
  await t.rejects(apiKeys.create(alice.id, { name: 'three', scopes: [] }), { code: 'FST_TOKEN_AUTH_API_KEY_LIMIT', statusCode: 409 })
  await apiKeys.revoke(alice.id, first.apiKey.id)
  t.ok(await apiKeys.create(alice.id, { name: 'three', scopes: [] }))
  const results = await Promise.allSettled([1, 2, 3].map(async (n) => await apiKeys.create(alice.id, { name: `race ${n}`, scopes: [] })))
  t.equal(results.filter((result) => result.status === 'fulfilled').length, 0, 'concurrent creates at the limit all refused')
})

t.test('a user unknown, disabled, or disabled while the key is being created gets no key (404)', async (t) => {
  const { apiKeys, alice, core, store } = await apiKeyCore(t)
  const management = (core.stateful as NonNullable<AuthCore['stateful']>).management
  await t.rejects(apiKeys.create('nobody', { name: 'k', scopes: [] }), { code: 'FST_TOKEN_AUTH_USER_NOT_FOUND', statusCode: 404 })
  const insert = store.apiKeys.insert
  store.apiKeys.insert = async (key, max) => {
    await management.setDisabled(alice.id, true)
    return await insert(key, max)
  }
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: [] }), { code: 'FST_TOKEN_AUTH_USER_NOT_FOUND' }, 'the store refused the insert for the disabled user')
  store.apiKeys.insert = insert
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: [] }), { code: 'FST_TOKEN_AUTH_USER_NOT_FOUND' }, 'disabled')
  t.same(await apiKeys.list(alice.id), [])
})

t.test('rename: the user\'s own live key only (404 otherwise), name checked, the summary returned', async (t) => {
  const { apiKeys, alice, core, events, store } = await apiKeyCore(t)
  const bob = await (core.stateful as NonNullable<AuthCore['stateful']>).accounts.createUser({ username: 'bob', password: PASSWORD })
  const { apiKey } = await apiKeys.create(alice.id, { name: 'old', scopes: ['profile:read'] })
  const renamed = await apiKeys.rename(alice.id, apiKey.id, ' new name ', { sessionId: 's', address: ADDRESS })
  t.same(renamed, { ...apiKey, name: 'new name' })
  t.match(eventsOf(events, 'api_key.renamed'), [{ userId: alice.id, keyId: apiKey.id, sessionId: 's', address: ADDRESS }])
  const notFound = { code: 'FST_TOKEN_AUTH_API_KEY_NOT_FOUND', statusCode: 404 }
  await t.rejects(apiKeys.rename(bob.id, apiKey.id, 'mine now'), notFound, 'another user\'s key')
  await t.rejects(apiKeys.rename(alice.id, 'no-such-key', 'x'), notFound)
  await t.rejects(apiKeys.rename(alice.id, apiKey.id, ''), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST' })
  const rename = store.apiKeys.rename
  store.apiKeys.rename = async (userId, id, name) => {
    const done = await rename(userId, id, name)
    await apiKeys.revoke(userId, id)
    return done
  }
  await t.rejects(apiKeys.rename(alice.id, apiKey.id, 'again'), notFound, 'revoked between the rename and the read')
  store.apiKeys.rename = rename
  await t.rejects(apiKeys.rename(alice.id, apiKey.id, 'again'), notFound, 'a revoked key')
  t.equal(eventsOf(events, 'api_key.renamed').length, 2)
})

t.test('revoke: refused at once on this instance (cached or not), 404 for a key not the user\'s or gone', async (t) => {
  const { apiKeys, alice, core, events } = await apiKeyCore(t)
  const bob = await (core.stateful as NonNullable<AuthCore['stateful']>).accounts.createUser({ username: 'bob', password: PASSWORD })
  const { key, apiKey } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  await authenticated(apiKeys, key)
  const notFound = { code: 'FST_TOKEN_AUTH_API_KEY_NOT_FOUND', statusCode: 404 }
  await t.rejects(apiKeys.revoke(bob.id, apiKey.id), notFound)
  await apiKeys.revoke(alice.id, apiKey.id, { sessionId: 's', address: ADDRESS })
  t.match(eventsOf(events, 'api_key.revoked'), [{ userId: alice.id, keyIds: [apiKey.id], by: 'user', sessionId: 's', address: ADDRESS }])
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  t.equal(eventsOf(events, 'api_key.rejected')[0].reason, 'revoked')
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'and looked up: the row says revoked')
  t.equal(eventsOf(events, 'api_key.rejected')[1].reason, 'revoked')
  await t.rejects(apiKeys.revoke(alice.id, apiKey.id), notFound, 'already revoked')
  t.same(await apiKeys.list(alice.id), [])
  await apiKeys.create(alice.id, { name: 'k2', scopes: [] })
  await apiKeys.revoke(alice.id, (await apiKeys.list(alice.id))[0].id, { actorId: 'admin-1' }, 'admin')
  t.match(eventsOf(events, 'api_key.revoked')[1], { by: 'admin', actorId: 'admin-1' })
})

t.test('revokeAll: every key of the user, one event; none left is no event', async (t) => {
  const { apiKeys, alice, events } = await apiKeyCore(t)
  const keys = [await apiKeys.create(alice.id, { name: 'a', scopes: [] }), await apiKeys.create(alice.id, { name: 'b', scopes: [] })]
  for (const { key } of keys) await authenticated(apiKeys, key)
  t.equal(await apiKeys.revokeAll(alice.id, { address: ADDRESS }), 2)
  t.match(eventsOf(events, 'api_key.revoked'), [{ userId: alice.id, keyIds: keys.map(({ apiKey }) => apiKey.id), by: 'user', address: ADDRESS }])
  for (const { key } of keys) await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  t.equal(await apiKeys.revokeAll(alice.id), 0)
  t.equal(eventsOf(events, 'api_key.revoked').length, 1)
})

t.test('a role taken away takes its scopes from the user\'s keys at the next request, without revoking them', async (t) => {
  const { apiKeys, alice, core } = await apiKeyCore(t, { apiKeys: { scopes: SCOPES, cache: { ttl: '1h' } } })
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: ['reports:write', 'reports:read'] })
  t.equal((await authenticated(apiKeys, key)).scope, 'reports:write reports:read')
  await (core.stateful as NonNullable<AuthCore['stateful']>).accounts.updateUser(alice.id, { roles: ['reader'] })
  const identity = await authenticated(apiKeys, key)
  t.equal(identity.scope, 'reports:read', 'the cached entry was dropped and the user read again')
  t.same(identity.roles, ['reader'])
  await (core.stateful as NonNullable<AuthCore['stateful']>).accounts.updateUser(alice.id, { roles: [] })
  const none = await authenticated(apiKeys, key)
  t.notOk('scope' in none, 'no scope left')
  t.notOk('roles' in none)
  t.equal((await apiKeys.list(alice.id))[0].scopes.length, 2, 'the key still holds what it was given')
})

t.test('logout everywhere does not revoke keys (their next use re-reads the user)', async (t) => {
  const { apiKeys, alice, core } = await apiKeyCore(t)
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  await authenticated(apiKeys, key)
  await (core.stateful as NonNullable<AuthCore['stateful']>).accounts.logOutEverywhere(alice.id, {})
  t.equal((await authenticated(apiKeys, key)).sub, alice.id)
})

t.test('a disabled user\'s keys are revoked with it, a deleted user\'s deleted, both refused at once when cached', async (t) => {
  const { apiKeys, alice, core, events } = await apiKeyCore(t, { apiKeys: { scopes: SCOPES, cache: { ttl: '1h' } } })
  const management = (core.stateful as NonNullable<AuthCore['stateful']>).management
  const bob = await management.createUser({ username: 'bob', password: PASSWORD })
  const aliceKey = (await apiKeys.create(alice.id, { name: 'k', scopes: [] })).key
  const bobKey = (await apiKeys.create(bob.id, { name: 'k', scopes: [] })).key
  await authenticated(apiKeys, aliceKey)
  await authenticated(apiKeys, bobKey)
  await management.setDisabled(alice.id, true)
  await management.deleteUser(bob.id)
  await t.rejects(authenticated(apiKeys, aliceKey), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  await t.rejects(authenticated(apiKeys, bobKey), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  t.same(eventsOf(events, 'api_key.rejected').map((event) => event.reason), ['revoked', 'unknown'])
  await management.setDisabled(alice.id, false)
  await t.rejects(authenticated(apiKeys, aliceKey), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'enabling again does not bring keys back')
})

t.test('a key whose user is disabled is refused even where a store left the key unrevoked', async (t) => {
  const { apiKeys, alice, store, events } = await apiKeyCore(t)
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const findByHash = store.apiKeys.findByHash
  store.apiKeys.findByHash = async (hash) => {
    const found = await findByHash(hash)
    return found === undefined ? undefined : { ...found, user: { ...found.user, disabled: true } }
  }
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  t.match(eventsOf(events, 'api_key.rejected'), [{ reason: 'user_disabled', userId: alice.id }])
})

t.test('a password reset revokes every key of the user', async (t) => {
  const outbox = new MailOutbox()
  const { apiKeys, alice, core, events } = await apiKeyCore(t, {
    core: { mail: { transport: outbox, from: 'no-reply@example.com', links: { passwordReset: 'https://app.example/reset', emailVerification: 'https://app.example/verify' } } }
  })
  await (core.stateful as NonNullable<AuthCore['stateful']>).accounts.updateUser(alice.id, { email: 'alice@example.com' })
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  await authenticated(apiKeys, key)
  await core.stateful?.accountMail?.passwordReset.request('alice@example.com', ADDRESS)
  const token = linkTokenOf(await outbox.next('alice@example.com'))
  await core.resetPassword({ token, newPassword: 'a brand new passphrase', clientAddress: ADDRESS })
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  t.match(eventsOf(events, 'api_key.revoked'), [{ userId: alice.id, by: 'password_reset', address: ADDRESS }])
  t.same(await apiKeys.list(alice.id), [])
})

t.test('a password change does not revoke keys', async (t) => {
  const { apiKeys, alice, core } = await apiKeyCore(t)
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  await core.changePassword({ userId: alice.id, currentPassword: PASSWORD, newPassword: 'another good password', clientAddress: ADDRESS })
  t.equal((await authenticated(apiKeys, key)).sub, alice.id)
})

t.test('housekeeping prunes revoked and expired keys', async (t) => {
  const { apiKeys, alice, store, clock } = await apiKeyCore(t)
  const revoked = await apiKeys.create(alice.id, { name: 'revoked', scopes: [] })
  await apiKeys.create(alice.id, { name: 'short', scopes: [], expiresIn: 60 })
  await apiKeys.create(alice.id, { name: 'live', scopes: [] })
  await apiKeys.revoke(alice.id, revoked.apiKey.id)
  clock.advance(61_000)
  const pruned: number[] = []
  const housekeeping = new Housekeeping({ store, clock, intervalMs: 60_000, onPruned: (result) => { pruned.push(result.apiKeys) }, onError: (error) => { t.fail(String(error)) } })
  await housekeeping.pruneOnce()
  t.same(pruned, [2])
  t.same((await apiKeys.list(alice.id)).map((key) => key.name), ['live'])
})

t.test('session access tokens carry the scopes the user\'s roles grant, unless claims() sets its own', async (t) => {
  const { core, alice } = await apiKeyCore(t)
  const claimsOf = async (c: AuthCore, user = alice): Promise<Record<string, unknown>> => ({ ...ownTokens(c).verify((await (c.stateful as NonNullable<AuthCore['stateful']>).sessions.start(user)).accessToken) })
  t.equal((await claimsOf(core)).scope, 'profile:read reports:read reports:write')
  t.same((await claimsOf(core)).roles, ['developer', 'reader'], 'the default claims stay')
  const store = createMemoryStore()
  const started = async (options: Omit<Parameters<typeof createAuthCore>[0], 'secret' | 'store'>): Promise<AuthCore> => {
    const started = createAuthCore({ secret: SECRET, store, ...options })
    t.teardown(async () => { await started.stop() })
    await started.start()
    return started
  }
  const own = await started({ apiKeys: { scopes: SCOPES }, claims: () => ({ scope: 'mine' }) })
  const bob = await (own.stateful as NonNullable<AuthCore['stateful']>).accounts.createUser({ username: 'bob', password: PASSWORD })
  t.equal((await claimsOf(own, bob)).scope, 'mine')
  const none = await started({ apiKeys: { scopes: { 'admin:all': ['admin'] } } })
  t.notOk('scope' in await claimsOf(none, bob), 'no scope granted: no claim')
  const empty = await started({ apiKeys: {} })
  t.notOk('scope' in await claimsOf(empty, { ...bob, roles: ['admin'] }), 'an empty catalogue adds nothing')
  const off = await started({})
  t.equal(off.stateful?.apiKeys, undefined, 'no apiKeys option: API keys are off')
  t.notOk('scope' in await claimsOf(off, bob))
})

t.test('the apiKeys option: defaults, and every bad value refused at startup by its name', async (t) => {
  const store = createMemoryStore()
  const core = (apiKeys: unknown, options: { store?: AuthStore | undefined } = { store }): AuthCore =>
    createAuthCore({ secret: SECRET, ...options, apiKeys: apiKeys as never })
  const resolved = core({}).options.apiKeys
  t.match(resolved, { prefix: 'fta_live_', maxLifetimeSeconds: 365 * DAY, maxPerUser: 50, cache: { maxEntries: 10_000, ttlSeconds: 60 }, failuresPerAddress: 50, windowSeconds: 900, allowByDefault: false })
  t.ok(resolved?.catalogue.isEmpty)
  t.match(core({ allowByDefault: true, maxLifetime: null, window: '1h', failuresPerAddress: 5, cache: { maxEntries: 0, ttl: 5 } }).options.apiKeys,
    { allowByDefault: true, maxLifetimeSeconds: null, windowSeconds: 3600, failuresPerAddress: 5, cache: { maxEntries: 0, ttlSeconds: 5 } })
  const refused = (apiKeys: unknown, message: RegExp, options?: { store?: AuthStore | undefined }): void => {
    t.throws(() => core(apiKeys, options), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message }, message.source)
  }
  refused({}, /API keys are kept in the store/, {})
  refused({}, /API keys are kept in the store/, { store: { ...store, apiKeys: undefined } as unknown as AuthStore })
  refused('on', /apiKeys must be an object/)
  refused({ maxPerUsr: 5 }, /apiKeys\.maxPerUsr is not an option; did you mean apiKeys\.maxPerUser\?/)
  refused({ cache: { maxEntrys: 5 } }, /apiKeys\.cache\.maxEntrys is not an option; did you mean apiKeys\.cache\.maxEntries\?/)
  refused({ cache: 100 }, /apiKeys\.cache must be an object/)
  refused({ scopes: ['read'] }, /apiKeys\.scopes must be an object/)
  refused({ scopes: 'read' }, /apiKeys\.scopes must be an object/)
  refused({ scopes: { read: 'admin' } }, /apiKeys\.scopes\['read'\] must be true \(any user\) or a non-empty array of role names; got "admin"/)
  refused({ scopes: { read: [] } }, /apiKeys\.scopes\['read'\] must be true/)
  refused({ scopes: { read: [''] } }, /apiKeys\.scopes\['read'\] must be true/)
  refused({ scopes: { read: false } }, /apiKeys\.scopes\['read'\] must be true/)
  refused({ scopes: { 'read reports': true } }, /"read reports" is not a scope name/)
  refused({ scopes: { '': true } }, /"" is not a scope name/)
  refused({ scopes: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`s${i}`, true])) }, /at most 1000 scopes/)
  refused({ maxLifetime: 59 }, /apiKeys\.maxLifetime must be at least 60/)
  refused({ maxLifetime: '3651d' }, /apiKeys\.maxLifetime must be at least 60 and at most 315360000 seconds/)
  refused({ maxLifetime: 'forever' }, /apiKeys\.maxLifetime must be a number of seconds/)
  refused({ maxPerUser: 0 }, /apiKeys\.maxPerUser must be an integer from 1 to 10000/)
  refused({ cache: { maxEntries: -1 } }, /apiKeys\.cache\.maxEntries must be an integer from 0/)
  refused({ cache: { ttl: 0 } }, /apiKeys\.cache\.ttl must be at least 1/)
  refused({ cache: { ttl: '2h' } }, /apiKeys\.cache\.ttl must be at least 1 and at most 3600/)
  refused({ failuresPerAddress: 0 }, /apiKeys\.failuresPerAddress must be an integer from 1/)
  refused({ window: '2d' }, /apiKeys\.window must be at least 1 and at most 86400/)
  refused({ allowByDefault: 'yes' }, /apiKeys\.allowByDefault must be true or false; got "yes"/)
  const { options } = createAuthCore({ secret: SECRET, store, apiKeys: { scopes: { a: ['x'], b: true } } })
  t.same(options.apiKeys?.catalogue.grantable(['x']), ['a', 'b'])
})

t.test('a key made by an access token is kept only while that token is still good in the store', async (t) => {
  const { core, apiKeys, alice, store, events } = await apiKeyCore(t)
  const stateful = core.stateful as NonNullable<AuthCore['stateful']>
  const session = await stateful.sessions.start(alice)
  const asked = { sessionId: session.sessionId, tokenVersion: alice.tokenVersion, address: ADDRESS }
  const kept = await apiKeys.create(alice.id, { name: 'kept', scopes: [] }, asked)
  t.same((await apiKeys.list(alice.id)).map((key) => key.id), [kept.apiKey.id], 'the session and version hold: kept')

  t.test('the session ended in the store (this instance not yet told): the key is revoked, 401', async (t) => {
    await stateful.sessions.revoke(session.sessionId)
    await t.rejects(apiKeys.create(alice.id, { name: 'late', scopes: [] }, asked), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED', statusCode: 401 })
    t.same((await apiKeys.list(alice.id)).map((key) => key.name), ['kept'], 'only the earlier key is left')
    t.equal(eventsOf(events, 'api_key.created').length, 1, 'the refused key was never announced')
  })

  t.test('the token version raised meanwhile (a reset, logging out everywhere): revoked, 401', async (t) => {
    const fresh = await stateful.sessions.start(alice)
    await t.rejects(apiKeys.create(alice.id, { name: 'old version', scopes: [] }, { sessionId: fresh.sessionId, tokenVersion: alice.tokenVersion - 1 }), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
  })

  t.test('the user disabled or deleted between the insert and the check: refused, nothing left', async (t) => {
    const bob = await stateful.accounts.createUser({ username: 'bob', password: PASSWORD })
    const bobSession = await stateful.sessions.start(bob)
    const insert = store.apiKeys.insert
    t.teardown(() => { store.apiKeys.insert = insert })
    store.apiKeys.insert = async (key, max) => {
      const inserted = await insert(key, max)
      // The disable revokes the key in its own step: the check finds nothing left to revoke.
      await core.stateful?.management.setDisabled(bob.id, true)
      return inserted
    }
    await t.rejects(apiKeys.create(bob.id, { name: 'k', scopes: [] }, { sessionId: bobSession.sessionId, tokenVersion: bob.tokenVersion }), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
    t.same(await store.apiKeys.listByUser(bob.id), [])
    store.apiKeys.insert = async (key, max) => {
      const inserted = await insert(key, max)
      await core.stateful?.management.deleteUser(carol.id)
      return inserted
    }
    const carol = await stateful.accounts.createUser({ username: 'carol', password: PASSWORD })
    const carolSession = await stateful.sessions.start(carol)
    await t.rejects(apiKeys.create(carol.id, { name: 'k', scopes: [] }, { sessionId: carolSession.sessionId, tokenVersion: carol.tokenVersion }), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
    t.same(await store.apiKeys.listByUser(carol.id), [])
  })
})

t.test('creations and renames are limited per user and minute: the 31st answers 429 with Retry-After; revocations never are', async (t) => {
  const { apiKeys, alice, clock } = await apiKeyCore(t)
  const fromRequest = { address: ADDRESS }
  const { apiKey } = await apiKeys.create(alice.id, { name: 'k', scopes: [] }, fromRequest)
  for (let i = 0; i < 29; i++) await apiKeys.rename(alice.id, apiKey.id, `k${i}`, { sessionId: 'session-1' })
  await t.rejects(apiKeys.rename(alice.id, apiKey.id, 'late', fromRequest), { code: 'FST_TOKEN_AUTH_RATE_LIMITED', statusCode: 429, headers: { 'retry-after': '60' } })
  await t.rejects(apiKeys.create(alice.id, { name: 'k', scopes: [] }, fromRequest), { code: 'FST_TOKEN_AUTH_RATE_LIMITED' })
  t.ok(await apiKeys.create(alice.id, { name: 'k', scopes: [] }), 'the application\'s own calls (no session, no address) are not limited')
  await apiKeys.revoke(alice.id, apiKey.id, fromRequest)
  t.equal(await apiKeys.revokeAll(alice.id, fromRequest), 1, 'the user can always revoke: someone with a stolen token cannot spend the allowance to keep a key alive')
  clock.advance(60_000)
  t.ok(await apiKeys.create(alice.id, { name: 'k', scopes: [] }, fromRequest), 'the next minute goes on')
})
