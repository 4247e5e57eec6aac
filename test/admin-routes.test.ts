import Fastify from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { adminRoutes, createMemoryStore, type AuthEvent, type AuthStore, type TokenAuthOptions } from 'fastify-token-auth'
import { buildSessionApp, PASSWORD, SECRET } from './helpers/app.js'
import { createUser } from './helpers/stores.js'
import { login } from './helpers/session.js'

// adminRoutes: user management over HTTP, behind a role, under the application's prefix.

const REALM = 'Bearer realm="api"'
type App = Awaited<ReturnType<typeof buildSessionApp>>['app']

interface Admin { app: App, store: AuthStore, events: AuthEvent[], admin: string, user: string, bobId: string, aliceId: string }

/** alice (admin) and bob (no role) with the admin routes under /manage; `admin` and `user` are their bearer headers' tokens. */
async function adminApp (t: Test, options: Record<string, unknown> = {}): Promise<Admin> {
  const events: AuthEvent[] = []
  const { app, store } = await buildSessionApp(t, {
    auth: { throttle: { maxAccountFailures: 2 }, onAuthEvent: (event) => { events.push(event) } },
    setup (app) { app.register(adminRoutes, { prefix: '/manage', ...options }) }
  })
  const bob = await createUser(store, { username: 'bob', password: PASSWORD, email: 'Bob@Example.com', roles: ['ops'] })
  const alice = await store.users.findByUsername('alice')
  return { app, store, events, admin: (await login(app)).accessToken, user: (await login(app, { username: 'bob' })).accessToken, bobId: bob.id, aliceId: (alice as { id: string }).id }
}

const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

function assertRefused (t: Test, res: Awaited<ReturnType<App['inject']>>, status: number, code: string, challenge: string | RegExp | undefined): void {
  t.equal(res.statusCode, status, `${status} ${code}`)
  t.match(res.json(), { code })
  if (challenge === undefined) t.equal(res.headers['www-authenticate'], undefined, 'no challenge')
  else t.match(res.headers['www-authenticate'], challenge)
}

/** An app with these tokenAuth and adminRoutes options, started and closed: what ready() does. */
async function readyWith (auth: TokenAuthOptions, options: object): Promise<void> {
  const app = Fastify()
  try {
    await app.register(tokenAuth, auth)
    app.register(adminRoutes, options as never)
    await app.ready()
  } finally {
    await app.close()
  }
}

t.test('GET /manage/users pages through every user exactly once; search and email find users in any case', async (t) => {
  const { app, store, admin } = await adminApp(t)
  for (const username of ['carol', 'dave', 'erin', 'frank']) await createUser(store, { username, password: PASSWORD })
  const seen: string[] = []
  let url = '/manage/users?limit=2'
  for (let pages = 0; pages < 10; pages++) {
    const res = await app.inject({ method: 'GET', url, headers: as(admin) })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['cache-control'], 'no-store')
    const page = res.json()
    seen.push(...page.users.map((user: { username: string }) => user.username))
    if (page.next === null) break
    url = `/manage/users?limit=2&after=${encodeURIComponent(page.next)}`
  }
  t.same(seen, ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'])
  const found = (await app.inject({ method: 'GET', url: '/manage/users?search=EXAMPLE.COM', headers: as(admin) })).json()
  t.same(found.users.map((user: { username: string }) => user.username), ['alice', 'bob'])
  t.equal(found.next, null)
  const bob = (await app.inject({ method: 'GET', url: '/manage/users?email=BOB%40example.com', headers: as(admin) })).json()
  t.same(Object.keys(bob.users[0]).sort(), ['created_at', 'disabled', 'email', 'email_verified_at', 'id', 'profile', 'roles', 'username'], 'the public user: no hash, no token version')
  t.match(bob, { users: [{ username: 'bob', email: 'bob@example.com', email_verified_at: null, roles: ['ops'], disabled: false, profile: {} }], next: null })
  t.same((await app.inject({ method: 'GET', url: '/manage/users?email=nobody%40example.com', headers: as(admin) })).json(), { users: [], next: null })
})

t.test('GET and PATCH /manage/users/:id show and change a user; taking a role away ends their sessions', async (t) => {
  const { app, store, admin, user, bobId, aliceId, events } = await adminApp(t)
  await store.users.update(bobId, { set: { emailVerifiedAt: 1_900_000_000.25 } })
  const shown = await app.inject({ method: 'GET', url: `/manage/users/${bobId}`, headers: as(admin) })
  t.match(shown.json(), { id: bobId, username: 'bob', roles: ['ops'], email_verified_at: 1_900_000_000 }, 'times in whole seconds')
  const added = await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers: as(admin), payload: { roles: ['ops', 'auditor'], email: 'robert@example.com' } })
  t.equal(added.statusCode, 200)
  t.match(added.json(), { roles: ['ops', 'auditor'], email: 'robert@example.com', email_verified_at: null })
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: as(user) })).statusCode, 200, 'adding a role ends nothing')
  const removed = await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers: as(admin), payload: { roles: ['auditor'] } })
  t.match(removed.json(), { roles: ['auditor'] })
  const refused = await app.inject({ method: 'GET', url: '/me', headers: as(user) })
  t.equal(refused.statusCode, 401, 'a role taken away: bob\'s token is refused at once')
  t.match(refused.json(), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
  const updates = events.filter((event) => event.type === 'user.updated')
  t.match(updates, [{ userId: bobId, fields: ['email', 'roles'], sessionsEnded: false, actorId: aliceId, address: '127.0.0.1' }, { fields: ['roles'], sessionsEnded: true, actorId: aliceId }])
  t.ok(updates.every((event) => typeof event.sessionId === 'string'), 'the admin\'s session')
  const disabled = await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers: as(admin), payload: { disabled: true } })
  t.match(disabled.json(), { disabled: true })
  t.match(events.at(-1), { type: 'user.disabled', userId: bobId, actorId: aliceId })
  const bobLogin = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'bob', password: PASSWORD } })
  t.equal(bobLogin.statusCode, 401, 'a disabled user cannot log in')
  t.match((await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers: as(admin), payload: {} })).json(), { id: bobId, disabled: true }, 'an empty change shows the user')
})

t.test('POST /manage/users/:id/unlock lets a locked-out user log in again', async (t) => {
  const { app, admin, bobId, events } = await adminApp(t)
  for (let i = 0; i < 2; i++) await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'bob', password: 'wrong password' }, remoteAddress: `198.51.100.${i}` })
  const locked = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'bob', password: PASSWORD }, remoteAddress: '198.51.100.9' })
  t.equal(locked.statusCode, 429)
  const res = await app.inject({ method: 'POST', url: `/manage/users/${bobId}/unlock`, headers: as(admin) })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'bob', password: PASSWORD }, remoteAddress: '198.51.100.9' })).statusCode, 200)
  t.match(events.filter((event) => event.type === 'user.unlocked'), [{ userId: bobId }])
})

t.test('the sessions of a user: listed, one ended, all ended', async (t) => {
  const { app, admin, user, bobId, events } = await adminApp(t)
  const second = await login(app, { username: 'bob' }, '198.51.100.4')
  const listed = await app.inject({ method: 'GET', url: `/manage/users/${bobId}/sessions`, headers: as(admin) })
  t.equal(listed.statusCode, 200)
  const sessions = listed.json().sessions
  t.equal(sessions.length, 2)
  t.match(sessions[0], { client_address: '198.51.100.4', current: false })
  const secondSession = (await app.tokenAuth.verify(second.accessToken)).sid as string
  t.equal(sessions[0].id, secondSession)
  const ended = await app.inject({ method: 'DELETE', url: `/manage/users/${bobId}/sessions/${secondSession}`, headers: as(admin) })
  t.equal(ended.statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: as(second.accessToken) })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: as(user) })).statusCode, 200, 'the other goes on')
  t.match(events.filter((event) => event.type === 'session.ended'), [{ userId: bobId, sessionId: secondSession, by: 'admin' }])
  const all = await app.inject({ method: 'DELETE', url: `/manage/users/${bobId}/sessions`, headers: as(admin) })
  t.equal(all.statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: as(user) })).statusCode, 401)
  t.same((await app.inject({ method: 'GET', url: `/manage/users/${bobId}/sessions`, headers: as(admin) })).json(), { sessions: [] })
})

t.test('without a token 401, without the role 403 insufficient_scope, on every route, and nothing changes', async (t) => {
  const { app, user, bobId, aliceId } = await adminApp(t)
  const routes: Array<{ method: 'GET' | 'PATCH' | 'POST' | 'DELETE', url: string, payload?: object }> = [
    { method: 'GET', url: '/manage/users' },
    { method: 'GET', url: `/manage/users/${aliceId}` },
    { method: 'PATCH', url: `/manage/users/${aliceId}`, payload: { roles: [] } },
    { method: 'POST', url: `/manage/users/${aliceId}/unlock` },
    { method: 'GET', url: `/manage/users/${aliceId}/sessions` },
    { method: 'DELETE', url: `/manage/users/${aliceId}/sessions/x` },
    { method: 'DELETE', url: `/manage/users/${aliceId}/sessions` }
  ]
  for (const route of routes) {
    assertRefused(t, await app.inject(route), 401, 'FST_TOKEN_AUTH_NO_TOKEN', REALM)
    assertRefused(t, await app.inject({ ...route, headers: as('not.a.token') }), 401, 'FST_TOKEN_AUTH_INVALID_TOKEN', /error="invalid_token"/)
    assertRefused(t, await app.inject({ ...route, headers: as(user) }), 403, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', /error="insufficient_scope"/)
  }
  t.match((await app.tokenAuth.accounts.findUserById(aliceId)), { roles: ['admin'], tokenVersion: 0 }, 'nothing changed')
  t.ok(bobId)
})

t.test('bad queries, bodies, ids and media types are refused without a challenge', async (t) => {
  const { app, admin, bobId } = await adminApp(t)
  const headers = as(admin)
  for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'limit=5&limit=6', 'email=a%40b.c&search=x', 'unknown=1', `search=${'x'.repeat(255)}`, 'after=']) {
    assertRefused(t, await app.inject({ method: 'GET', url: `/manage/users?${query}`, headers }), 400, 'FST_ERR_VALIDATION', undefined)
  }
  const bodies: unknown[] = [{ roles: 'admin' }, { roles: [''] }, { roles: ['x'.repeat(65)] }, { email: 42 }, { disabled: 'yes' }, { password: 'x' }, { tokenVersion: 0 }, [], { profile: { nickname: { nested: true } } }]
  for (const payload of bodies) {
    assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers, payload: payload as object }), 400, 'FST_ERR_VALIDATION', undefined)
  }
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers: { ...headers, 'content-type': 'application/json' }, payload: 'null' }), 400, 'FST_ERR_VALIDATION', undefined)
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers }), 400, 'FST_ERR_VALIDATION', undefined)
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers, payload: { email: 'not an address' } }), 400, 'FST_TOKEN_AUTH_INVALID_USER', undefined)
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers, payload: { profile: { nickname: 'b' } } }), 400, 'FST_TOKEN_AUTH_INVALID_USER', undefined)
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers, payload: { email: 'alice@example.com' } }), 409, 'FST_TOKEN_AUTH_EMAIL_TAKEN', undefined)
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers: { ...headers, 'content-type': 'text/plain' }, payload: '{"roles":[]}' }), 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', undefined)
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${bobId}`, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'roles=' }), 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', undefined)
  const unknown = '00000000-0000-0000-0000-000000000000'
  for (const [method, url] of [['GET', `/manage/users/${unknown}`], ['PATCH', `/manage/users/${unknown}`], ['POST', `/manage/users/${unknown}/unlock`], ['GET', `/manage/users/${unknown}/sessions`], ['DELETE', `/manage/users/${unknown}/sessions`]] as const) {
    assertRefused(t, await app.inject({ method, url, headers, ...(method === 'PATCH' ? { payload: { disabled: true } } : {}) }), 404, 'FST_TOKEN_AUTH_USER_NOT_FOUND', undefined)
  }
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${unknown}`, headers, payload: { roles: [] } }), 404, 'FST_TOKEN_AUTH_USER_NOT_FOUND', undefined)
  assertRefused(t, await app.inject({ method: 'PATCH', url: `/manage/users/${unknown}`, headers, payload: {} }), 404, 'FST_TOKEN_AUTH_USER_NOT_FOUND', undefined)
  assertRefused(t, await app.inject({ method: 'DELETE', url: `/manage/users/${bobId}/sessions/${unknown}`, headers }), 404, 'FST_TOKEN_AUTH_SESSION_NOT_FOUND', undefined)
})

t.test('a cookie-authenticated admin needs the session\'s CSRF token on unsafe methods', async (t) => {
  const { app, bobId, user } = await adminApp(t)
  const browser = await login(app)
  const names = app.tokenAuth.cookieNames
  const cookie = `${names.accessToken}=${browser.cookies[names.accessToken]}; ${names.csrf}=${browser.csrfToken}`
  t.equal((await app.inject({ method: 'GET', url: '/manage/users', headers: { cookie } })).statusCode, 200, 'reading needs none')
  for (const [method, url] of [['PATCH', `/manage/users/${bobId}`], ['POST', `/manage/users/${bobId}/unlock`], ['DELETE', `/manage/users/${bobId}/sessions`]] as const) {
    const res = await app.inject({ method, url, headers: { cookie }, ...(method === 'PATCH' ? { payload: { roles: [] } } : {}) })
    assertRefused(t, res, 403, 'FST_TOKEN_AUTH_CSRF', undefined)
  }
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: as(user) })).statusCode, 200, 'nothing ended')
  const res = await app.inject({ method: 'DELETE', url: `/manage/users/${bobId}/sessions`, headers: { cookie, 'x-csrf-token': browser.csrfToken } })
  t.equal(res.statusCode, 204)
})

t.test('the role option names the role required; options are checked when the app starts', async (t) => {
  const { app, user, admin } = await adminApp(t, { role: 'ops' })
  t.equal((await app.inject({ method: 'GET', url: '/manage/users', headers: as(user) })).statusCode, 200, 'bob has ops')
  assertRefused(t, await app.inject({ method: 'GET', url: '/manage/users', headers: as(admin) }), 403, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', /insufficient_scope/)
  for (const [options, message] of [[{ rol: 'admin' }, /rol/], [{ role: '' }, /role/], [{ role: 'a b' }, /role/], [{ role: ['admin'] }, /role/]] as const) {
    await t.rejects(readyWith({ secret: SECRET, store: createMemoryStore() }, options), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message }, JSON.stringify(options))
  }
  await t.rejects(readyWith({ secret: SECRET }, {}), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /store/ }, 'no store, no user to manage')
})
