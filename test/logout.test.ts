import t, { type Test } from 'tap'
import { buildApp, PASSWORD } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { cookiesOf, login } from './helpers/session.js'
import { forEachStore, memoryStoreTarget, type StoreTarget, createUser } from './helpers/stores.js'

// Logout that really logs out: the access token, its session, every session, and password changes.

async function setup (t: Test, target: StoreTarget): Promise<{ app: Awaited<ReturnType<typeof buildApp>>, store: Awaited<ReturnType<StoreTarget['create']>> }> {
  const store = await target.create(t)
  await createUser(store, { username: 'alice', password: PASSWORD })
  await createUser(store, { username: 'bob', password: PASSWORD })
  return { app: await buildApp(t, { auth: { store }, routes: {} }), store }
}

type App = Awaited<ReturnType<typeof setup>>['app']

async function assertRevoked (t: Test, app: App, accessToken: string): Promise<void> {
  const res = await app.inject({ url: '/me', headers: bearer(accessToken) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
}

async function assertRefreshRefused (t: Test, app: App, refreshToken: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
}

forEachStore(t, 'logout revokes the access token and its session, and clears the cookies', async (t, target) => {
  const { app } = await setup(t, target)
  const session = await login(app, { include_refresh_token: true })
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(cookiesOf(res), { '__Host-access-token': '', '__Host-csrf-token': '', '__Secure-refresh-token': '' })
  await assertRevoked(t, app, session.accessToken)
  await assertRefreshRefused(t, app, session.refreshToken)
})

forEachStore(t, 'log out everywhere ends every session of the user, and only theirs', async (t, target) => {
  const { app } = await setup(t, target)
  const phone = await login(app, { include_refresh_token: true })
  const laptop = await login(app, { include_refresh_token: true })
  const bob = await login(app, { username: 'bob', include_refresh_token: true })
  const res = await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(laptop.accessToken) })
  t.equal(res.statusCode, 204)
  for (const session of [phone, laptop]) {
    await assertRevoked(t, app, session.accessToken)
    await assertRefreshRefused(t, app, session.refreshToken)
  }
  t.equal((await app.inject({ url: '/me', headers: bearer(bob.accessToken) })).statusCode, 200)
  t.equal((await login(app)).response.statusCode, 200, 'logging in again works')
})

forEachStore(t, 'after a password change, both old access and old refresh tokens are refused', async (t, target) => {
  const { app } = await setup(t, target)
  const other = await login(app, { include_refresh_token: true })
  const current = await login(app, { include_refresh_token: true })
  const res = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(current.accessToken), payload: { current_password: PASSWORD, new_password: 'a whole new password', include_refresh_token: true } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  for (const session of [other, current]) {
    await assertRevoked(t, app, session.accessToken)
    await assertRefreshRefused(t, app, session.refreshToken)
  }
  t.equal((await app.inject({ url: '/me', headers: bearer(res.json().access_token) })).statusCode, 200, 'the session it returns works')
  const oldPassword = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(oldPassword.statusCode, 401)
  t.equal((await login(app, { password: 'a whole new password' })).response.statusCode, 200)
})

forEachStore(t, 'deleting a user makes their tokens fail', async (t, target) => {
  const { app } = await setup(t, target)
  const session = await login(app, { include_refresh_token: true })
  await app.tokenAuth.accounts.deleteUser((await app.tokenAuth.accounts.findUserByUsername('alice'))?.id as string)
  await assertRevoked(t, app, session.accessToken)
  await assertRefreshRefused(t, app, session.refreshToken)
})

t.test('a password change needs the current password and a new password that passes the policy', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const wrong = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(session.accessToken), payload: { current_password: 'not it', new_password: 'a whole new password' } })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  t.equal(wrong.headers['www-authenticate'], 'Bearer realm="api"')
  const weak = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(session.accessToken), payload: { current_password: PASSWORD, new_password: 'short' } })
  t.equal(weak.statusCode, 400)
  t.equal(weak.json().code, 'FST_TOKEN_AUTH_PASSWORD_REJECTED')
  t.equal(weak.headers['www-authenticate'], undefined)
  t.equal((await app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200, 'nothing changed')
  const anonymous = await app.inject({ method: 'POST', url: '/auth/password', payload: { current_password: PASSWORD, new_password: 'a whole new password' } })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('a password change for a token whose user is gone is refused', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const token = await app.tokenAuth.sign({ sub: 'no-such-user' })
  const res = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(token), payload: { current_password: PASSWORD, new_password: 'a whole new password' } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('logout by refresh token alone works when the access token has expired', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const session = await login(app, { include_refresh_token: true })
  const realNow = Date.now
  Date.now = () => realNow() + 16 * 60_000
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken), payload: { refresh_token: session.refreshToken } })
  Date.now = realNow
  t.equal(res.statusCode, 204)
  await assertRefreshRefused(t, app, session.refreshToken)
})

t.test('logout with nothing to identify a session is a 401, and the cookies are cleared anyway', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const none = await app.inject({ method: 'POST', url: '/auth/logout' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="api"')
  t.same(cookiesOf(none), { '__Host-access-token': '', '__Host-csrf-token': '', '__Secure-refresh-token': '' })
  const unknown = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: 'C'.repeat(43) }, headers: bearer('a.b.c') })
  t.equal(unknown.statusCode, 401)
  t.equal(unknown.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  t.match(unknown.headers['www-authenticate'], /error="invalid_token"/)
  const twoAccessTokens = await app.inject({ method: 'POST', url: '/auth/logout', headers: { ...bearer('a.b.c'), cookie: '__Host-access-token=a.b.c' } })
  t.equal(twoAccessTokens.statusCode, 400)
  t.equal(twoAccessTokens.json().code, 'FST_TOKEN_AUTH_INVALID_REQUEST')
  t.match(twoAccessTokens.headers['www-authenticate'], /error="invalid_request"/)
})

t.test('a revoked access token re-encoded with different unused trailing bits is still rejected', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const session = await login(app)
  await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })
  const last = session.accessToken.at(-1) as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const sibling = session.accessToken.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1]
  t.equal(Buffer.from(sibling.split('.')[2], 'base64url').equals(Buffer.from(session.accessToken.split('.')[2], 'base64url')), true, 'the same signature bytes')
  const res = await app.inject({ url: '/me', headers: bearer(sibling) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN', 'refused as non-canonical before revocation is even consulted')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('with the cookie transport off, a password change works by Bearer alone', async (t) => {
  const store = await memoryStoreTarget().create(t)
  await createUser(store, { username: 'alice', password: PASSWORD })
  const app = await buildApp(t, { auth: { store, transport: { cookie: false } }, routes: {} })
  const session = await login(app)
  const res = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(session.accessToken), payload: { current_password: PASSWORD, new_password: 'a whole new password' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['set-cookie'], undefined)
  await assertRevoked(t, app, session.accessToken)
})

t.test('logout with only an unknown refresh cookie is a 401 that names no token, after the origin checks', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const unknown = `__Secure-refresh-token=${'A'.repeat(43)}`
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: unknown } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  const foreign = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: unknown, origin: 'https://evil.example', host: 'app.example' } })
  t.equal(foreign.statusCode, 403)
  t.equal(foreign.json().code, 'FST_TOKEN_AUTH_CSRF')
  t.equal(foreign.headers['www-authenticate'], undefined)
})

t.test('a browser logs out with its cookies and the CSRF token of its session; a CSRF token of another session is refused', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const mine = await login(app)
  const theirs = await login(app, { username: 'bob' })
  // Only the refresh cookie: the access cookie has expired and the browser dropped it.
  const cookie = `__Secure-refresh-token=${mine.cookies['__Secure-refresh-token']}; __Host-csrf-token=${mine.csrfToken}`
  const refused = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': theirs.csrfToken } })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'FST_TOKEN_AUTH_CSRF')
  t.equal(refused.headers['www-authenticate'], undefined)
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': mine.csrfToken } })
  t.equal(res.statusCode, 204)
  await assertRevoked(t, app, mine.accessToken)
  t.equal((await app.inject({ url: '/me', headers: bearer(theirs.accessToken) })).statusCode, 200, 'bob is still signed in')
})
