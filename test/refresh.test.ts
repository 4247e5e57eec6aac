import t, { type Test } from 'tap'
import type { TokenAuthOptions } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { asCookieHeader, cookiesOf, login } from './helpers/session.js'
import { forEachStore, memoryStoreTarget, type StoreTarget, createUser } from './helpers/stores.js'
import { newRefreshToken } from '../lib/sessions/refresh-token.js'

// POST /auth/refresh: rotation, reuse detection, the grace window, and concurrency.

async function setup (t: Test, target: StoreTarget, auth: Partial<TokenAuthOptions> = {}): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const store = await target.create(t)
  await createUser(store, { username: 'alice', password: PASSWORD, roles: ['admin'] })
  return await buildApp(t, { auth: { store, ...auth }, routes: {} })
}

type App = Awaited<ReturnType<typeof setup>>

async function refreshByBody (app: App, refreshToken: string): Promise<Awaited<ReturnType<App['inject']>>> {
  return await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } })
}

function assertRefreshRefused (t: Test, res: Awaited<ReturnType<App['inject']>>): void {
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN')
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/)
}

forEachStore(t, 'a refresh by cookie rotates: new tokens come back and the old refresh token is spent', async (t, target) => {
  const app = await setup(t, target)
  const session = await login(app)
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: session.cookieHeader, 'x-csrf-token': session.csrfToken } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { token_type: 'Bearer', expires_in: 900, user: { username: 'alice' } })
  t.notOk('refresh_token' in body)
  const cookies = cookiesOf(res)
  t.not(cookies['__Secure-refresh-token'], session.refreshToken, 'a new refresh token')
  t.not(body.access_token, session.accessToken, 'a new access token')
  t.equal((await app.inject({ url: '/me', headers: bearer(body.access_token) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200, 'the previous access token lives on until it expires')
})

forEachStore(t, 'a refresh by body returns the next refresh token in the body', async (t, target) => {
  const app = await setup(t, target)
  const session = await login(app, { include_refresh_token: true })
  const res = await refreshByBody(app, session.refreshToken)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { refresh_token: /^[A-Za-z0-9_-]{43}$/ })
  t.notOk('__Secure-refresh-token' in cookiesOf(res))
  t.equal((await refreshByBody(app, res.json().refresh_token)).statusCode, 200, 'the successor works')
})

forEachStore(t, 'a spent refresh token presented again revokes the family and its access tokens', async (t, target) => {
  const clock = new TestClock()
  const app = await setup(t, target, { session: { reuseGrace: 0 }, clock })
  const session = await login(app, { include_refresh_token: true })
  const rotated = await refreshByBody(app, session.refreshToken)
  t.equal(rotated.statusCode, 200)
  clock.advance(1100)
  assertRefreshRefused(t, await refreshByBody(app, session.refreshToken))
  assertRefreshRefused(t, await refreshByBody(app, rotated.json().refresh_token))
  for (const accessToken of [session.accessToken, rotated.json().access_token]) {
    const res = await app.inject({ url: '/me', headers: bearer(accessToken) })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
    t.match(res.headers['www-authenticate'], /error="invalid_token"/)
  }
})

forEachStore(t, 'a spent refresh token back within the grace window is refused without burning the family', async (t, target) => {
  const app = await setup(t, target)
  const session = await login(app, { include_refresh_token: true })
  const rotated = await refreshByBody(app, session.refreshToken)
  assertRefreshRefused(t, await refreshByBody(app, session.refreshToken))
  t.equal((await refreshByBody(app, rotated.json().refresh_token)).statusCode, 200, 'the winner\'s successor still works')
  t.equal((await app.inject({ url: '/me', headers: bearer(rotated.json().access_token) })).statusCode, 200)
})

forEachStore(t, 'a spent refresh token back exactly one grace window after its spend, with the spend late in a second, keeps the family', async (t, target) => {
  const clock = new TestClock()
  const app = await setup(t, target, { session: { reuseGrace: 1 }, clock })
  const session = await login(app, { include_refresh_token: true })
  // The winner spends at 0.99 s into a second, the replay comes 1.00 s later: within a 1 s grace.
  const second = (Math.floor(clock.now() / 1000) + 2) * 1000
  clock.set(second + 990)
  const rotated = await refreshByBody(app, session.refreshToken)
  t.equal(rotated.statusCode, 200)
  clock.set(second + 1990)
  assertRefreshRefused(t, await refreshByBody(app, session.refreshToken))
  t.equal((await refreshByBody(app, rotated.json().refresh_token)).statusCode, 200, 'the family was not burnt')
})

forEachStore(t, 'ten concurrent refreshes with one token: exactly one wins', async (t, target) => {
  const app = await setup(t, target)
  const session = await login(app, { include_refresh_token: true })
  const results = await Promise.all(Array.from({ length: 10 }, async () => await refreshByBody(app, session.refreshToken)))
  t.equal(results.filter((res) => res.statusCode === 200).length, 1)
  t.ok(results.every((res) => res.statusCode === 200 || res.statusCode === 401))
  const winner = results.find((res) => res.statusCode === 200)
  t.equal((await refreshByBody(app, winner?.json().refresh_token)).statusCode, 200, 'the family is intact for the winner')
})

forEachStore(t, 'after disabling the user, refresh is refused and access tokens are revoked', async (t, target) => {
  const store = await target.create(t)
  const alice = await createUser(store, { username: 'alice', password: PASSWORD })
  const app = await buildApp(t, { auth: { store }, routes: {} })
  const session = await login(app, { include_refresh_token: true })
  await app.tokenAuth.accounts.setDisabled(alice.id, true)
  assertRefreshRefused(t, await refreshByBody(app, session.refreshToken))
  const me = await app.inject({ url: '/me', headers: bearer(session.accessToken) })
  t.equal(me.statusCode, 401)
  t.equal(me.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(me.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('a refresh token from before the user\'s token version changed is refused and its family revoked', async (t) => {
  const store = await memoryStoreTarget().create(t)
  const alice = await createUser(store, { username: 'alice', password: PASSWORD })
  const app = await buildApp(t, { auth: { store }, routes: {} })
  const stale = newRefreshToken()
  const at = Date.now() / 1000
  await store.families.create({ id: 'fam-1', userId: alice.id, tokenVersion: alice.tokenVersion - 1, createdAt: at, expiresAt: at + 600, clientAddress: null, userAgent: null, authMethods: ['pwd'] }, { hash: stale.hash, expiresAt: at + 600 })
  assertRefreshRefused(t, await refreshByBody(app, stale.token))
  t.match((await store.revocations.list({ afterId: 0 })).at(-1), { kind: 'session', subject: 'fam-1' })
})

t.test('with the cookie transport off, refresh takes the body only and sets no cookie', async (t) => {
  const app = await setup(t, memoryStoreTarget(), { transport: { cookie: false } })
  const session = await login(app)
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken }, headers: { cookie: `__Secure-refresh-token=${session.refreshToken}` } })
  t.equal(res.statusCode, 200, 'the cookie is not even looked at, so this is not "two tokens"')
  t.equal(res.headers['set-cookie'], undefined)
})

t.test('login routes without a prefix scope the refresh cookie to /', async (t) => {
  const store = await memoryStoreTarget().create(t)
  await createUser(store, { username: 'alice', password: PASSWORD })
  const Fastify = (await import('fastify')).default
  const { tokenAuth, loginRoutes } = await import('fastify-token-auth')
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: 'NGj55PM4JUxoCRKmGnP5RaTUrqHwz531tzVCYSvzcdO0', store })
  await app.register(loginRoutes)
  const res = await app.inject({ method: 'POST', url: '/login', payload: { username: 'alice', password: PASSWORD } })
  t.match(res.cookies.find((cookie) => cookie.name === '__Secure-refresh-token'), { path: '/' })
})

t.test('an access token is not a refresh token, and a refresh token is not an access token', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app, { include_refresh_token: true })
  assertRefreshRefused(t, await refreshByBody(app, session.accessToken))
  const res = await app.inject({ url: '/me', headers: bearer(session.refreshToken) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('unknown, missing and doubly-sent refresh tokens are refused', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  assertRefreshRefused(t, await refreshByBody(app, 'A'.repeat(43)))
  assertRefreshRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh' }))
  assertRefreshRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh', payload: {} }))
  const session = await login(app)
  const both = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken }, headers: { cookie: session.cookieHeader, 'x-csrf-token': session.csrfToken } })
  t.equal(both.statusCode, 400)
  t.equal(both.json().code, 'FST_TOKEN_AUTH_INVALID_REQUEST')
  t.match(both.headers['www-authenticate'], /error="invalid_request"/)
  const extra = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken, user: 'x' } })
  t.equal(extra.statusCode, 400)
  t.equal(extra.json().code, 'FST_ERR_VALIDATION')
})

t.test('a refused cookie refresh clears the session cookies', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const cookie = asCookieHeader({ ...session.cookies, '__Secure-refresh-token': 'B'.repeat(43) })
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie, 'x-csrf-token': session.csrfToken } })
  assertRefreshRefused(t, res)
  t.same(Object.values(cookiesOf(res)), ['', '', ''], 'all three cookies cleared')
})

t.test('a refresh token past its lifetime is refused, and rotation never extends the session past maxAge', async (t) => {
  const app = await setup(t, memoryStoreTarget(), { session: { refreshTokenTtl: '2m', maxAge: '1m' } })
  const session = await login(app, { include_refresh_token: true })
  t.ok(session.response.json().refresh_token_expires_in <= 60, 'capped by the session maximum')
  const clock = new TestClock()
  const expiring = await setup(t, memoryStoreTarget(), { session: { refreshTokenTtl: 60, maxAge: '1d' }, clock })
  const short = await login(expiring, { include_refresh_token: true })
  clock.advance(61_000)
  assertRefreshRefused(t, await refreshByBody(expiring, short.refreshToken))
})
