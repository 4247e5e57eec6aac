import Fastify from 'fastify'
import t from 'tap'
import tokenAuth, { adminRoutes, createMemoryStore, type AuthStore } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { generateKey } from '../lib/api-keys/key-format.js'
import { SECRET } from './helpers/app.js'
import { apiKeyApp, assertRefused, BARE_CHALLENGE, INSUFFICIENT_SCOPE, INVALID_TOKEN } from './helpers/api-key-app.js'
import { countCounterCalls, countLookups, eventsOf } from './helpers/api-keys.js'
import { TestClock } from './helpers/clock.js'
import { openDatabase } from './helpers/databases.js'
import { bearer } from './helpers/forge.js'
import { login } from './helpers/session.js'

// API keys over HTTP: `Authorization: Bearer <key>` on the routes that accept keys; every
// refusal a 401 invalid_token (or 429, 503), and never a JWT parse of a key.

const INVALID_API_KEY = 'FST_TOKEN_AUTH_INVALID_API_KEY'
const NOT_ALLOWED = 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED'
const ADDRESS = '198.51.100.20'

/** Waits, in real time, until `check` holds (revocations sync on their own timer), at most 5 s. */
async function eventually (check: () => Promise<boolean>): Promise<boolean> {
  for (let waited = 0; waited < 5000; waited += 20) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

const scopeOf = (claims: object): unknown => (claims as { scope?: unknown }).scope

t.test('a key on a route that accepts keys: request.user is the user, with the key\'s scopes, authMethod and keyId', async (t) => {
  const { app, alice, clock } = await apiKeyApp(t)
  const now = Math.floor(clock.now() / 1000)
  const { key, apiKey } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'ci', scopes: ['reports:read'], expiresIn: 3600 })
  for (const method of ['GET', 'POST'] as const) {
    const res = await app.inject({ method, url: '/keyed', headers: bearer(key), remoteAddress: ADDRESS })
    t.equal(res.statusCode, 200, `${method}: no CSRF token needed, a key never comes from a browser's cookie jar`)
    t.same(res.json(), { sub: alice.id, roles: ['developer', 'reader'], scope: 'reports:read', authMethod: 'api_key', keyId: apiKey.id, jti: apiKey.id, iat: now, exp: now + 3600 })
  }
  const scheme = await app.inject({ url: '/keyed', headers: { authorization: `bearer ${key}` } })
  t.equal(scheme.statusCode, 200, 'the scheme in any case')
})

t.test('a key that never expires has no exp', async (t) => {
  const { app, alice } = await apiKeyApp(t, { apiKeys: { scopes: { 'reports:read': true }, maxLifetime: null } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'forever', scopes: [] })
  const res = await app.inject({ url: '/keyed', headers: bearer(key) })
  t.equal(res.statusCode, 200)
  t.notOk('exp' in res.json())
  t.notOk('scope' in res.json(), 'nor a scope, holding none')
})

t.test('unknown, mistyped (bad checksum), revoked and expired keys all get the same 401 invalid_token', async (t) => {
  const { app, alice, clock, events } = await apiKeyApp(t)
  const unknown = generateKey('fta_live_').key
  const mistyped = `${unknown.slice(0, -1)}${unknown.endsWith('A') ? 'B' : 'A'}`
  const { key: revokedKey, apiKey: revoked } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'revoked', scopes: [] })
  t.equal((await app.inject({ url: '/keyed', headers: bearer(revokedKey) })).statusCode, 200, 'cached before it is revoked')
  await app.tokenAuth.apiKeys.revoke(alice.id, revoked.id)
  const { key: expiring } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'short', scopes: [], expiresIn: 60 })
  t.equal((await app.inject({ url: '/keyed', headers: bearer(expiring) })).statusCode, 200)
  clock.advance(61_000)
  const bodies: unknown[] = []
  for (const key of [unknown, mistyped, revokedKey, expiring, 'fta_live_short']) {
    const res = await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: ADDRESS })
    assertRefused(t, res, 401, INVALID_TOKEN, INVALID_API_KEY, key.slice(0, 12))
    bodies.push(res.json())
  }
  t.ok(bodies.every((body) => JSON.stringify(body) === JSON.stringify(bodies[0])), 'one body for all')
  t.same(eventsOf(events, 'api_key.rejected').map((event) => event.reason), ['unknown', 'malformed', 'revoked', 'expired', 'malformed'])
  t.notOk(JSON.stringify(bodies).includes('fta_live_'), 'no key in the answer')
})

t.test('a key of a user disabled, or deleted, meanwhile is refused (the user revocation drops the cached key)', async (t) => {
  const { app, alice, bob } = await apiKeyApp(t)
  const { key: aliceKey } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'a', scopes: [] })
  const { key: bobKey } = await app.tokenAuth.apiKeys.create(bob.id, { name: 'b', scopes: [] })
  for (const key of [aliceKey, bobKey]) t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).statusCode, 200)
  await app.tokenAuth.accounts.setDisabled(alice.id, true)
  await app.tokenAuth.accounts.deleteUser(bob.id)
  for (const key of [aliceKey, bobKey]) assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(key) }), 401, INVALID_TOKEN, INVALID_API_KEY)
  await app.tokenAuth.accounts.setDisabled(alice.id, false)
  assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(aliceKey) }), 401, INVALID_TOKEN, INVALID_API_KEY, 'enabling the user again does not bring back the keys a disable revoked')
})

t.test('a key in the access-token cookie is refused with no lookup, even on a route that accepts keys', async (t) => {
  const { app, alice, store } = await apiKeyApp(t)
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const lookups = countLookups(store)
  const counted = countCounterCalls(store)
  const cookie = `${app.tokenAuth.cookieNames.accessToken}=${key}`
  for (const url of ['/keyed', '/me']) assertRefused(t, await app.inject({ url, headers: { cookie } }), 401, INVALID_TOKEN, INVALID_API_KEY, url)
  t.equal(lookups.count, 0)
  t.equal(counted.count, 0)
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).statusCode, 200, 'the same key by header is fine')
})

t.test('a key on a route that does not accept keys: 401 API_KEY_NOT_ALLOWED, with no lookup and nothing counted', async (t) => {
  const { app, alice, store } = await apiKeyApp(t, { apiKeys: { scopes: { 'reports:read': true }, failuresPerAddress: 1 } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const lookups = countLookups(store)
  const counted = countCounterCalls(store)
  for (let i = 0; i < 3; i++) {
    for (const url of ['/me', '/no-keys', '/admin', '/auth/sessions']) {
      const res = await app.inject({ url, headers: bearer(key), remoteAddress: ADDRESS })
      assertRefused(t, res, 401, INVALID_TOKEN, NOT_ALLOWED, url)
      t.match(res.headers['www-authenticate'], /error_description="This route does not accept API keys"/)
    }
  }
  t.equal(lookups.count, 0)
  t.equal(counted.count, 0, 'an allowance of one failure is untouched')
  const logout = await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(key) })
  assertRefused(t, logout, 401, INVALID_TOKEN, NOT_ALLOWED, 'the login routes refuse keys')
  const peek = await app.inject({ url: '/peek', headers: bearer(key) })
  assertRefused(t, peek, 401, INVALID_TOKEN, NOT_ALLOWED, 'so does request.verifyToken() on such a route')
})

t.test('apiKeys.allowByDefault: routes accept keys unless their config says allowApiKeys: false; the login and admin routes never', async (t) => {
  const { app, alice } = await apiKeyApp(t, {
    apiKeys: { scopes: { 'reports:read': true }, allowByDefault: true },
    setup: (app) => { app.register(adminRoutes, { prefix: '/manage', role: 'developer' }) }
  })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const session = await login(app)
  t.equal((await app.inject({ url: '/manage/users', headers: bearer(session.accessToken) })).statusCode, 200, 'alice\'s session may administer')
  t.equal((await app.inject({ url: '/me', headers: bearer(key) })).statusCode, 200)
  t.equal((await app.inject({ url: '/admin', headers: bearer(key) })).statusCode, 403, 'accepted, then its role checked')
  t.equal((await app.inject({ url: '/peek', headers: bearer(key) })).json().sub, alice.id, 'request.verifyToken() too')
  assertRefused(t, await app.inject({ url: '/no-keys', headers: bearer(key) }), 401, INVALID_TOKEN, NOT_ALLOWED)
  for (const [method, url] of [['GET', '/auth/sessions'], ['POST', '/auth/logout-all'], ['POST', '/auth/password'], ['GET', '/manage/users'], ['PATCH', `/manage/users/${alice.id}`]] as const) {
    assertRefused(t, await app.inject({ method, url, headers: bearer(key) }), 401, INVALID_TOKEN, NOT_ALLOWED, url)
  }
})

t.test('config.allowApiKeys other than true or false fails the route\'s registration', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET })
  t.throws(() => app.get('/x', { config: { allowApiKeys: 'false' as unknown as boolean } }, async () => 'x'), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /route GET \/x: config.allowApiKeys must be true or false/ })
  t.doesNotThrow(() => app.get('/y', { config: { allowApiKeys: false } }, async () => 'y'))
})

t.test('with API keys off, a Bearer value with the default prefix is just an invalid access token', async (t) => {
  const { app } = await apiKeyApp(t, { apiKeys: null })
  const key = generateKey('fta_live_').key
  for (const url of ['/keyed', '/me']) assertRefused(t, await app.inject({ url, headers: bearer(key) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_TOKEN', url)
  t.throws(() => app.tokenAuth.apiKeys, { name: 'TypeError', message: /`apiKeys` option/ })
})

t.test('a key with another prefix than the configured one is parsed as an access token', async (t) => {
  const { app, alice } = await apiKeyApp(t, { apiKeys: { prefix: 'acme_live_' } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  t.ok(key.startsWith('acme_live_'))
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).statusCode, 200)
  assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(generateKey('fta_live_').key) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_TOKEN')
})

t.test('no credentials on a route that accepts keys is the bare 401', async (t) => {
  const { app } = await apiKeyApp(t)
  assertRefused(t, await app.inject({ url: '/keyed' }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_NO_TOKEN')
})

t.test('failed keys from one address: past the allowance 429 with Retry-After and no challenge; other addresses go on', async (t) => {
  const { app, alice, clock, events } = await apiKeyApp(t, { apiKeys: { failuresPerAddress: 3, window: '10m' } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  for (let i = 0; i < 3; i++) assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(generateKey('fta_live_').key), remoteAddress: ADDRESS }), 401, INVALID_TOKEN, INVALID_API_KEY)
  for (const presented of [generateKey('fta_live_').key, key]) {
    const res = await app.inject({ url: '/keyed', headers: bearer(presented), remoteAddress: ADDRESS })
    assertRefused(t, res, 429, undefined, 'FST_TOKEN_AUTH_RATE_LIMITED', 'even a good key, not yet cached, from that address')
    t.ok(Number(res.headers['retry-after']) > 0 && Number(res.headers['retry-after']) <= 600, String(res.headers['retry-after']))
  }
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: '198.51.100.21' })).statusCode, 200)
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: ADDRESS })).statusCode, 200, 'a cached key needs no lookup, so no allowance')
  t.equal(eventsOf(events, 'api_key.rejected').filter((event) => event.reason === 'throttled').length, 1, 'one event per window')
  clock.advance(601_000)
  assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(generateKey('fta_live_').key), remoteAddress: ADDRESS }), 401, INVALID_TOKEN, INVALID_API_KEY, 'the window over')
})

t.test('the address is the clientAddress option\'s', async (t) => {
  const { app } = await apiKeyApp(t, { apiKeys: { failuresPerAddress: 1 }, auth: { clientAddress: (request) => String(request.headers['x-client']) } })
  assertRefused(t, await app.inject({ url: '/keyed', headers: { ...bearer(generateKey('fta_live_').key), 'x-client': 'one' } }), 401, INVALID_TOKEN, INVALID_API_KEY)
  assertRefused(t, await app.inject({ url: '/keyed', headers: { ...bearer(generateKey('fta_live_').key), 'x-client': 'one' } }), 429, undefined, 'FST_TOKEN_AUTH_RATE_LIMITED')
  assertRefused(t, await app.inject({ url: '/keyed', headers: { ...bearer(generateKey('fta_live_').key), 'x-client': 'two' } }), 401, INVALID_TOKEN, INVALID_API_KEY)
})

t.test('when revocations cannot be trusted (the sync is stale), keys get 503 with Retry-After, cached or not', async (t) => {
  const { app, alice, clock, store } = await apiKeyApp(t)
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).statusCode, 200)
  const { key: other } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'other', scopes: [] })
  // The revocation feed is down, so no sync can freshen the list meanwhile; then the staleness bound passes.
  store.revocations.list = async () => { throw new Error('the database is down') }
  clock.advance(2 * 3600_000)
  for (const presented of [key, other]) {
    const res = await app.inject({ url: '/keyed', headers: bearer(presented) })
    assertRefused(t, res, 503, undefined, 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE')
    t.equal(res.headers['retry-after'], '1')
  }
})

t.test('requireScope: a key passes with its scope and fails without; a session token carries the scopes the user\'s roles grant', async (t) => {
  const { app, alice } = await apiKeyApp(t)
  const { key: reader } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'reader', scopes: ['reports:read'] })
  const { key: profile } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'profile', scopes: ['profile:read'] })
  t.equal((await app.inject({ url: '/keyed/reports', headers: bearer(reader) })).statusCode, 200)
  assertRefused(t, await app.inject({ url: '/keyed/reports', headers: bearer(profile) }), 403, INSUFFICIENT_SCOPE, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', 'a key without the scope, whatever its user may grant')
  const aliceSession = await login(app)
  t.equal(scopeOf(await app.tokenAuth.verify(aliceSession.accessToken)), 'profile:read reports:read reports:write')
  t.equal((await app.inject({ url: '/keyed/reports', headers: bearer(aliceSession.accessToken) })).statusCode, 200)
  const bobSession = await login(app, { username: 'bob' })
  t.equal(scopeOf(await app.tokenAuth.verify(bobSession.accessToken)), 'profile:read')
  assertRefused(t, await app.inject({ url: '/keyed/reports', headers: bearer(bobSession.accessToken) }), 403, INSUFFICIENT_SCOPE, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
})

t.test('requireRole with a key reads the user\'s roles again after a role is taken away, and its scopes with them', async (t) => {
  const { app, alice, store } = await apiKeyApp(t)
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'dev', scopes: ['reports:write', 'reports:read'] })
  t.equal((await app.inject({ url: '/keyed/develop', headers: bearer(key) })).statusCode, 200)
  const lookups = countLookups(store)
  await app.tokenAuth.accounts.updateUser(alice.id, { roles: ['reader'] })
  assertRefused(t, await app.inject({ url: '/keyed/develop', headers: bearer(key) }), 403, INSUFFICIENT_SCOPE, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.equal(lookups.count, 1, 'looked up again')
  const identity = (await app.inject({ url: '/keyed', headers: bearer(key) })).json()
  t.same(identity.roles, ['reader'])
  t.equal(identity.scope, 'reports:read', 'reports:write is the developer\'s to grant: kept on the key, but it does nothing')
  t.equal((await app.inject({ url: '/keyed/reports', headers: bearer(key) })).statusCode, 200)
})

t.test('a cached key is served with no store call at all', async (t) => {
  const { app, alice, store } = await apiKeyApp(t)
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: ['reports:read'] })
  t.equal((await app.inject({ url: '/keyed/reports', headers: bearer(key) })).statusCode, 200)
  const lookups = countLookups(store)
  const counted = countCounterCalls(store)
  const findById = store.users.findById
  let userReads = 0
  store.users.findById = async (id) => { userReads++; return await findById(id) }
  for (let i = 0; i < 20; i++) t.equal((await app.inject({ url: '/keyed/reports', headers: bearer(key) })).statusCode, 200)
  t.same([lookups.count, counted.count, userReads], [0, 0, 0])
})

t.test('200 concurrent requests with one unknown key: only the allowance is looked up, the rest 429, never a 500', async (t) => {
  const { app, store } = await apiKeyApp(t, { apiKeys: { failuresPerAddress: 10 } })
  const unknown = generateKey('fta_live_').key
  const lookups = countLookups(store)
  const responses = await Promise.all(Array.from({ length: 200 }, async () => await app.inject({ url: '/keyed', headers: bearer(unknown), remoteAddress: ADDRESS })))
  const statuses = responses.map((res) => res.statusCode)
  t.equal(statuses.filter((status) => status === 401).length, 10)
  t.equal(statuses.filter((status) => status === 429).length, 190)
  t.equal(lookups.count, 10)
  for (const res of responses) {
    if (res.statusCode === 401) t.equal(res.json().code, INVALID_API_KEY)
    else t.same([res.json().code, res.headers['www-authenticate']], ['FST_TOKEN_AUTH_RATE_LIMITED', undefined])
  }
})

t.test('a key revoked on instance A is refused by instance B once B has synced (two apps on one SQLite file)', async (t) => {
  const database = await openDatabase(t, 'sqlite')
  const clock = new TestClock(1_900_000_000_000)
  const storeOf = async (knex: typeof database.knex): Promise<AuthStore> => {
    const store = createKnexStore({ knex, tablePrefix: database.prefix })
    await store.migrate()
    return store
  }
  const apiKeys = { scopes: { 'reports:read': true as const }, cache: { ttl: '1h' } }
  const a = await apiKeyApp(t, { store: await storeOf(database.knex), clock, apiKeys })
  const b = await apiKeyApp(t, { store: await storeOf(database.connect()), clock, apiKeys })
  const { key, apiKey } = await a.app.tokenAuth.apiKeys.create(a.alice.id, { name: 'shared', scopes: ['reports:read'] })
  t.equal((await b.app.inject({ url: '/keyed/reports', headers: bearer(key) })).statusCode, 200, 'B looked it up and caches it')
  const lookups = countLookups(b.store)
  await a.app.tokenAuth.apiKeys.revoke(a.alice.id, apiKey.id)
  assertRefused(t, await a.app.inject({ url: '/keyed/reports', headers: bearer(key) }), 401, INVALID_TOKEN, INVALID_API_KEY, 'at once on A')
  t.ok(await eventually(async () => (await b.app.inject({ url: '/keyed/reports', headers: bearer(key) })).statusCode === 401), 'on B after its sync')
  assertRefused(t, await b.app.inject({ url: '/keyed/reports', headers: bearer(key) }), 401, INVALID_TOKEN, INVALID_API_KEY)
  t.ok(lookups.count <= 1, 'the synced revocation refused the cached key; at most the next use looked it up')
  t.match(eventsOf(b.events, 'api_key.rejected')[0], { reason: 'revoked', keyId: apiKey.id })
})

t.test('two apps sharing a memory store: a key created on one is used on the other', async (t) => {
  const store = createMemoryStore()
  const a = await apiKeyApp(t, { store })
  const b = await apiKeyApp(t, { store })
  const { key } = await a.app.tokenAuth.apiKeys.create(a.alice.id, { name: 'k', scopes: [] })
  t.equal((await b.app.inject({ url: '/keyed', headers: bearer(key) })).json().sub, a.alice.id)
})
