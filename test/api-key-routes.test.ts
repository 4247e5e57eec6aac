import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { apiKeyRoutes, createMemoryStore } from 'fastify-token-auth'
import { SECRET } from './helpers/app.js'
import { apiKeyApp, assertRefused, BARE_CHALLENGE, INSUFFICIENT_SCOPE, INVALID_TOKEN, type ApiKeyApp, type ApiKeyAppOptions } from './helpers/api-key-app.js'
import { eventsOf } from './helpers/api-keys.js'
import { bearer } from './helpers/forge.js'
import { login, type LoggedIn } from './helpers/session.js'

// The signed-in user's API keys over HTTP, under /auth: create (the key shown once), list,
// rename, revoke one or all. By access token only; JSON only; never cached.

const DAY = 86400
const ADDRESS = '198.51.100.30'
const VALIDATION = 'FST_ERR_VALIDATION'
const BAD_REQUEST = 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST'
const NOT_FOUND = 'FST_TOKEN_AUTH_API_KEY_NOT_FOUND'

async function keysApp (t: Test, options: ApiKeyAppOptions = {}): Promise<ApiKeyApp & { session: LoggedIn }> {
  const built = await apiKeyApp(t, { ...options, keyRoutes: true })
  return { ...built, session: await login(built.app, {}, ADDRESS) }
}

async function createKey (app: FastifyInstance, token: string, payload: Record<string, unknown>): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> {
  return await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(token), payload, remoteAddress: ADDRESS })
}

t.test('POST /auth/api-keys creates a key: 201 with the key, once, and its view; the key works at once', async (t) => {
  const { app, clock, events, alice, session } = await keysApp(t)
  const now = Math.floor(clock.now() / 1000)
  const res = await createKey(app, session.accessToken, { name: ' deploy ', scopes: ['reports:read', 'profile:read'], expires_in: 30 * DAY })
  t.equal(res.statusCode, 201)
  t.equal(res.headers['cache-control'], 'no-store')
  const { key, api_key: view } = res.json()
  t.match(key, /^fta_live_[0-9A-Za-z]{49}$/)
  t.same(view, { id: view.id, name: 'deploy', start: key.slice(0, 15), scopes: ['reports:read', 'profile:read'], created_at: now, expires_at: now + 30 * DAY, last_used_at: null })
  t.match(view.id, /^[0-9A-Za-z]{16}$/)
  const sid = (await app.tokenAuth.verify(session.accessToken)).sid
  t.match(eventsOf(events, 'api_key.created'), [{ userId: alice.id, keyId: view.id, scopes: ['reports:read', 'profile:read'], sessionId: sid, address: ADDRESS }])
  t.equal((await app.inject({ url: '/keyed/reports', headers: bearer(key) })).statusCode, 200)
})

t.test('without expires_in a key lives apiKeys.maxLifetime, or for ever when that is null', async (t) => {
  const { app, clock, session } = await keysApp(t, { apiKeys: { maxLifetime: '90d' } })
  const now = Math.floor(clock.now() / 1000)
  t.equal((await createKey(app, session.accessToken, { name: 'k', scopes: [] })).json().api_key.expires_at, now + 90 * DAY)
  const forever = await keysApp(t, { apiKeys: { maxLifetime: null } })
  t.equal((await createKey(forever.app, forever.session.accessToken, { name: 'k', scopes: [] })).json().api_key.expires_at, null)
})

t.test('GET /auth/api-keys lists the user\'s keys (never a key or its hash) and the scopes the user may grant', async (t) => {
  const { app, store, alice, bob, clock, session } = await keysApp(t)
  const first = (await createKey(app, session.accessToken, { name: 'one', scopes: ['reports:read'] })).json()
  clock.advance(1000)
  const second = (await createKey(app, session.accessToken, { name: 'two', scopes: [] })).json()
  await app.tokenAuth.apiKeys.create(bob.id, { name: 'bob\'s', scopes: [] })
  clock.advance(120_000)
  t.equal((await app.inject({ url: '/keyed', headers: bearer(first.key) })).statusCode, 200)
  const res = await app.inject({ url: '/auth/api-keys', headers: bearer(session.accessToken) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(body.api_keys.map((key: { id: string }) => key.id), [first.api_key.id, second.api_key.id], 'alice\'s, oldest first')
  t.equal(body.api_keys[0].last_used_at, Math.floor(clock.now() / 1000), 'a use shows, to the minute')
  t.same(body.api_keys[1], second.api_key)
  t.same(body.grantable_scopes, ['profile:read', 'reports:read', 'reports:write'])
  for (const stored of await store.apiKeys.listByUser(alice.id)) t.notOk(res.payload.includes(stored.hash), 'no hash')
  t.notOk(res.payload.includes(first.key) || res.payload.includes(second.key), 'no key')
  const bobSession = await login(app, { username: 'bob' })
  const bobs = (await app.inject({ url: '/auth/api-keys', headers: bearer(bobSession.accessToken) })).json()
  t.same(bobs.api_keys.map((key: { name: string }) => key.name), ['bob\'s'], 'bob sees his own')
  t.same(bobs.grantable_scopes, ['profile:read'], 'and only what any user may grant')
})

t.test('PATCH /auth/api-keys/:id renames a key of the user', async (t) => {
  const { app, events, session } = await keysApp(t)
  const { api_key: view } = (await createKey(app, session.accessToken, { name: 'old', scopes: [] })).json()
  const res = await app.inject({ method: 'PATCH', url: `/auth/api-keys/${view.id}`, headers: bearer(session.accessToken), payload: { name: '  new name ' }, remoteAddress: ADDRESS })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), { ...view, name: 'new name' })
  t.match(eventsOf(events, 'api_key.renamed'), [{ keyId: view.id, address: ADDRESS }])
})

t.test('DELETE /auth/api-keys/:id revokes one key: 204, and the key is refused at once', async (t) => {
  const { app, events, session } = await keysApp(t)
  const doomed = (await createKey(app, session.accessToken, { name: 'doomed', scopes: [] })).json()
  const kept = (await createKey(app, session.accessToken, { name: 'kept', scopes: [] })).json()
  t.equal((await app.inject({ url: '/keyed', headers: bearer(doomed.key) })).statusCode, 200)
  const res = await app.inject({ method: 'DELETE', url: `/auth/api-keys/${doomed.api_key.id}`, headers: bearer(session.accessToken), remoteAddress: ADDRESS })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['cache-control'], 'no-store')
  assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(doomed.key) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_API_KEY')
  t.equal((await app.inject({ url: '/keyed', headers: bearer(kept.key) })).statusCode, 200)
  t.match(eventsOf(events, 'api_key.revoked'), [{ keyIds: [doomed.api_key.id], by: 'user', address: ADDRESS }])
  assertRefused(t, await app.inject({ method: 'DELETE', url: `/auth/api-keys/${doomed.api_key.id}`, headers: bearer(session.accessToken) }), 404, undefined, NOT_FOUND, 'revoked already')
})

t.test('DELETE /auth/api-keys revokes all the user\'s keys and says how many', async (t) => {
  const { app, bob, session } = await keysApp(t)
  const keys = [
    (await createKey(app, session.accessToken, { name: 'a', scopes: [] })).json().key,
    (await createKey(app, session.accessToken, { name: 'b', scopes: [] })).json().key
  ]
  const { key: bobKey } = await app.tokenAuth.apiKeys.create(bob.id, { name: 'bob', scopes: [] })
  const res = await app.inject({ method: 'DELETE', url: '/auth/api-keys', headers: bearer(session.accessToken) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), { revoked: 2 })
  for (const key of keys) assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(key) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_API_KEY')
  t.equal((await app.inject({ url: '/keyed', headers: bearer(bobKey) })).statusCode, 200, 'bob\'s key lives on')
  t.same((await app.inject({ method: 'DELETE', url: '/auth/api-keys', headers: bearer(session.accessToken) })).json(), { revoked: 0 })
  t.same((await app.inject({ url: '/auth/api-keys', headers: bearer(session.accessToken) })).json().api_keys, [])
})

const ROUTES = [
  ['POST', '/auth/api-keys', { name: 'k', scopes: [] }],
  ['GET', '/auth/api-keys', undefined],
  ['PATCH', '/auth/api-keys/AAAAAAAAAAAAAAAA', { name: 'k' }],
  ['DELETE', '/auth/api-keys/AAAAAAAAAAAAAAAA', undefined],
  ['DELETE', '/auth/api-keys', undefined]
] as const

t.test('every route: no token is the bare 401, a bad one invalid_token', async (t) => {
  const { app } = await keysApp(t)
  for (const [method, url, payload] of ROUTES) {
    const body = payload === undefined ? {} : { payload }
    assertRefused(t, await app.inject({ method, url, ...body }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_NO_TOKEN', `${method} ${url}`)
    assertRefused(t, await app.inject({ method, url, headers: bearer('not.a.token'), ...body }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  }
})

t.test('every route refuses an API key, even with apiKeys.allowByDefault: a key cannot mint keys', async (t) => {
  const { app, alice, store } = await keysApp(t, { apiKeys: { scopes: { 'reports:read': true }, allowByDefault: true } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: ['reports:read'] })
  t.equal((await app.inject({ url: '/me', headers: bearer(key) })).statusCode, 200, 'allowed by default elsewhere')
  for (const [method, url, payload] of ROUTES) {
    const res = await app.inject({ method, url, headers: bearer(key), ...(payload === undefined ? {} : { payload }) })
    assertRefused(t, res, 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED', `${method} ${url}`)
  }
  t.equal((await store.apiKeys.listByUser(alice.id)).length, 1, 'nothing created or revoked')
})

t.test('by cookie: listing needs no CSRF token; creating, renaming and revoking without the session\'s CSRF token are 403 and change nothing', async (t) => {
  const { app, alice, session } = await keysApp(t)
  const { apiKey } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const names = app.tokenAuth.cookieNames
  const cookie = `${names.accessToken}=${session.cookies[names.accessToken]}; ${names.csrf}=${session.csrfToken}`
  t.equal((await app.inject({ url: '/auth/api-keys', headers: { cookie } })).statusCode, 200)
  const writes = [
    ['POST', '/auth/api-keys', { name: 'k', scopes: [] }],
    ['PATCH', `/auth/api-keys/${apiKey.id}`, { name: 'renamed' }],
    ['DELETE', `/auth/api-keys/${apiKey.id}`, undefined],
    ['DELETE', '/auth/api-keys', undefined]
  ] as const
  for (const [method, url, payload] of writes) {
    for (const headers of [{ cookie }, { cookie, 'x-csrf-token': 'wrong' }, { cookie, 'x-csrf-token': session.csrfToken, 'sec-fetch-site': 'cross-site' }]) {
      const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) })
      assertRefused(t, res, 403, undefined, 'FST_TOKEN_AUTH_CSRF', `${method} ${url}`)
    }
  }
  t.same((await app.tokenAuth.apiKeys.list(alice.id)).map((key) => key.name), ['k'], 'nothing changed')
  const created = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: { cookie, 'x-csrf-token': session.csrfToken }, payload: { name: 'by browser', scopes: [] } })
  t.equal(created.statusCode, 201, 'with the CSRF token')
})

t.test('bodies the schema refuses: 400 FST_ERR_VALIDATION, nothing created', async (t) => {
  const { app, alice, session } = await keysApp(t)
  const refused = [
    { name: 'k', scopes: [], admin: true },
    { name: 'k' },
    { scopes: [] },
    { name: '', scopes: [] },
    { name: 'x'.repeat(101), scopes: [] },
    { name: 42, scopes: [] },
    { name: 'k', scopes: Array.from({ length: 65 }, (_, i) => `scope${i}`) },
    { name: 'k', scopes: ['x'.repeat(101)] },
    { name: 'k', scopes: ['reports\\read'] },
    { name: 'k', scopes: ['reports read'] },
    { name: 'k', scopes: 'reports:read' },
    { name: 'k', scopes: [], expires_in: 59 },
    { name: 'k', scopes: [], expires_in: 3651 * DAY },
    { name: 'k', scopes: [], expires_in: 3600.5 },
    { name: 'k', scopes: [], expires_in: '3600' }
  ]
  for (const payload of refused) {
    assertRefused(t, await createKey(app, session.accessToken, payload), 400, undefined, VALIDATION, JSON.stringify(payload).slice(0, 60))
  }
  for (const payload of [{ name: 'k', extra: 1 }, { name: 'x'.repeat(101) }, {}]) {
    assertRefused(t, await app.inject({ method: 'PATCH', url: '/auth/api-keys/AAAAAAAAAAAAAAAA', headers: bearer(session.accessToken), payload }), 400, undefined, VALIDATION, 'PATCH')
  }
  t.same(await app.tokenAuth.apiKeys.list(alice.id), [])
})

t.test('requests the core refuses: an unknown or repeated scope, a blank name or one past maxLifetime are 400; a scope the user\'s roles do not grant 403', async (t) => {
  const { app, alice, session } = await keysApp(t, { apiKeys: { scopes: { 'reports:read': true, 'admin:all': ['admin'] }, maxLifetime: '30d' } })
  const refused = [
    { name: 'k', scopes: ['reports:delete'] },
    { name: 'k', scopes: ['reports:read', 'reports:read'] },
    { name: '   ', scopes: [] },
    { name: 'tab\there', scopes: [] },
    { name: 'k', scopes: [], expires_in: 31 * DAY }
  ]
  for (const payload of refused) {
    const res = await createKey(app, session.accessToken, payload)
    assertRefused(t, res, 400, undefined, BAD_REQUEST, JSON.stringify(payload))
  }
  const ungrantable = await createKey(app, session.accessToken, { name: 'k', scopes: ['reports:read', 'admin:all'] })
  assertRefused(t, ungrantable, 403, INSUFFICIENT_SCOPE, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(ungrantable.json().message, /admin:all/)
  const blank = await app.inject({ method: 'PATCH', url: '/auth/api-keys/AAAAAAAAAAAAAAAA', headers: bearer(session.accessToken), payload: { name: ' ' } })
  assertRefused(t, blank, 400, undefined, BAD_REQUEST, 'a blank new name')
  t.same(await app.tokenAuth.apiKeys.list(alice.id), [])
})

t.test('another user\'s key id, an unknown one and a revoked one get the same 404; a malformed id a 400', async (t) => {
  const { app, bob, session } = await keysApp(t)
  const { apiKey: bobs } = await app.tokenAuth.apiKeys.create(bob.id, { name: 'bob\'s', scopes: [] })
  const answers: unknown[] = []
  for (const id of [bobs.id, 'AAAAAAAAAAAAAAAA']) {
    for (const [method, payload] of [['PATCH', { name: 'mine now' }], ['DELETE', undefined]] as const) {
      const res = await app.inject({ method, url: `/auth/api-keys/${id}`, headers: bearer(session.accessToken), ...(payload === undefined ? {} : { payload }) })
      assertRefused(t, res, 404, undefined, NOT_FOUND, `${method} ${id}`)
      answers.push(res.json())
    }
  }
  t.ok(answers.every((answer) => JSON.stringify(answer) === JSON.stringify(answers[0])), 'nothing tells another user\'s key from none')
  t.same((await app.tokenAuth.apiKeys.list(bob.id)).map((key) => key.name), ['bob\'s'], 'bob\'s key untouched')
  for (const id of ['short', 'AAAAAAAAAAAAAAA-', 'AAAAAAAAAAAAAAAAA']) {
    assertRefused(t, await app.inject({ method: 'DELETE', url: `/auth/api-keys/${id}`, headers: bearer(session.accessToken) }), 400, undefined, VALIDATION, id)
  }
})

t.test('past apiKeys.maxPerUser: 409, until a key is revoked', async (t) => {
  const { app, session } = await keysApp(t, { apiKeys: { maxPerUser: 2 } })
  const first = (await createKey(app, session.accessToken, { name: '1', scopes: [] })).json()
  t.equal((await createKey(app, session.accessToken, { name: '2', scopes: [] })).statusCode, 201)
  assertRefused(t, await createKey(app, session.accessToken, { name: '3', scopes: [] }), 409, undefined, 'FST_TOKEN_AUTH_API_KEY_LIMIT')
  await app.inject({ method: 'DELETE', url: `/auth/api-keys/${first.api_key.id}`, headers: bearer(session.accessToken) })
  t.equal((await createKey(app, session.accessToken, { name: '3', scopes: [] })).statusCode, 201)
})

t.test('bodies that are not JSON are a 415', async (t) => {
  const { app, alice, session } = await keysApp(t)
  const { apiKey } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const sent = [
    ['POST', '/auth/api-keys', 'text/plain', '{"name":"k","scopes":[]}'],
    ['POST', '/auth/api-keys', 'application/x-www-form-urlencoded', 'name=k'],
    ['PATCH', `/auth/api-keys/${apiKey.id}`, 'text/plain', '{"name":"k"}'],
    ['DELETE', `/auth/api-keys/${apiKey.id}`, 'text/plain', 'x']
  ] as const
  for (const [method, url, type, payload] of sent) {
    const res = await app.inject({ method, url, headers: { ...bearer(session.accessToken), 'content-type': type }, payload })
    assertRefused(t, res, 415, undefined, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', `${method} ${type}`)
  }
  t.same((await app.tokenAuth.apiKeys.list(alice.id)).map((key) => key.name), ['k'])
})

t.test('registering apiKeyRoutes without the apiKeys option, or with an option it does not know, fails', async (t) => {
  for (const [auth, options, message] of [
    [{ secret: SECRET, store: createMemoryStore() }, {}, /apiKeyRoutes needs the `apiKeys` option/],
    [{ secret: SECRET }, {}, /apiKeyRoutes needs the `apiKeys` option/],
    [{ secret: SECRET, store: createMemoryStore(), apiKeys: {} }, { role: 'admin' }, /role/]
  ] as const) {
    const app = Fastify()
    t.teardown(async () => { await app.close() })
    await app.register(tokenAuth, auth)
    app.register(apiKeyRoutes, { prefix: '/auth', ...options } as object)
    await t.rejects(async () => { await app.ready() }, { message })
  }
})

t.test('app.tokenAuth.apiKeys: create, list, rename, revoke and revoke all from the application\'s code', async (t) => {
  const { app, alice, events } = await apiKeyApp(t)
  const keys = app.tokenAuth.apiKeys
  t.equal(app.tokenAuth.apiKeys, keys, 'one object')
  t.ok(Object.isFrozen(keys))
  const { key, apiKey } = await keys.create(alice.id, { name: 'job', scopes: ['reports:read'] }, { actorId: 'admin-1' })
  t.same((await keys.list(alice.id)).map((listed) => listed.id), [apiKey.id])
  t.equal((await keys.rename(alice.id, apiKey.id, 'nightly job')).name, 'nightly job')
  await keys.revoke(alice.id, apiKey.id, { actorId: 'admin-1' }, 'admin')
  assertRefused(t, await app.inject({ url: '/keyed', headers: bearer(key) }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_API_KEY')
  await keys.create(alice.id, { name: 'a', scopes: [] })
  t.equal(await keys.revokeAll(alice.id), 1)
  t.match(eventsOf(events, 'api_key.revoked'), [{ by: 'admin', actorId: 'admin-1' }, { by: 'user' }])
  await t.rejects(keys.revoke(alice.id, apiKey.id), { code: NOT_FOUND })
})
