import { hash as bcryptHash } from '@node-rs/bcrypt'
import t, { type Test } from 'tap'
import type { AuthStore, LoginRoutesOptions, PasswordHasher, TokenAuthOptions } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './helpers/app.js'
import { CountingHasher } from './helpers/counting-hasher.js'
import { bearer } from './helpers/forge.js'
import { cookiesOf } from './helpers/session.js'
import { createUser, forEachStore, memoryStoreTarget, type StoreTarget } from './helpers/stores.js'

// POST /auth/login on every store: the happy path, uniform failures, strict input.

interface Setup { app: Awaited<ReturnType<typeof buildApp>>, store: AuthStore, hasher: CountingHasher }

async function setup (t: Test, target: StoreTarget, options: { auth?: Partial<TokenAuthOptions>, routes?: LoginRoutesOptions, hasher?: CountingHasher } = {}): Promise<Setup> {
  const hasher = options.hasher ?? new CountingHasher()
  const store = await target.create(t)
  await createUser(store, { username: 'alice', password: PASSWORD, email: 'alice@example.com', roles: ['admin'] }, hasher as PasswordHasher)
  const app = await buildApp(t, { auth: { store, passwords: { hasher }, ...options.auth }, routes: options.routes ?? {} })
  hasher.verifications = 0
  return { app, store, hasher }
}

const post = async (app: Setup['app'], payload: unknown, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<Setup['app']['inject']>>> =>
  await app.inject({ method: 'POST', url: '/auth/login', payload: payload as string, headers })

forEachStore(t, 'a right password gets an OAuth-style token response, no-store, and session cookies', async (t, target) => {
  const { app } = await setup(t, target)
  const res = await post(app, { username: 'Alice', password: PASSWORD })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { token_type: 'Bearer', expires_in: 900, user: { username: 'alice', email: 'alice@example.com', roles: ['admin'] } })
  t.same(Object.keys(body.user).sort(), ['email', 'id', 'roles', 'username'], 'only public fields')
  t.notOk('refresh_token' in body, 'browsers get the refresh token as a cookie only')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  t.equal(res.headers['www-authenticate'], undefined)
  const cookies = Object.fromEntries(res.cookies.map((cookie) => [cookie.name, cookie]))
  t.match(cookies['__Host-access-token'], { value: body.access_token, httpOnly: true, secure: true, sameSite: 'Strict', path: '/', maxAge: 900 })
  t.notOk('domain' in cookies['__Host-access-token'])
  t.match(cookies['__Host-csrf-token'], { secure: true, sameSite: 'Strict', path: '/' })
  t.notOk(cookies['__Host-csrf-token'].httpOnly, 'the CSRF cookie is readable by the page')
  t.match(cookies['__Secure-refresh-token'], { httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' })
  const me = await app.inject({ url: '/me', headers: bearer(body.access_token) })
  t.match(me.json(), { sub: body.user.id, roles: ['admin'] })
})

forEachStore(t, 'an unknown user and a wrong password get the same answer after the same bcrypt work', async (t, target) => {
  const { app, hasher } = await setup(t, target)
  const unknown = await post(app, { username: 'mallory', password: PASSWORD }, {})
  t.equal(hasher.verifications, 1, 'the unknown user cost one bcrypt verification (against the dummy hash)')
  const wrong = await post(app, { username: 'alice', password: 'not the password' })
  t.equal(hasher.verifications, 2, 'the wrong password cost one as well')
  for (const res of [unknown, wrong]) {
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
  t.equal(unknown.payload, wrong.payload, 'same body')
  const headersOf = (res: typeof unknown): Record<string, unknown> => { const { date: _date, ...rest } = res.headers; return rest }
  t.same(headersOf(unknown), headersOf(wrong), 'same headers')
})

forEachStore(t, 'a disabled user with the right password is refused like a wrong password', async (t, target) => {
  const { app } = await setup(t, target)
  const alice = await app.tokenAuth.accounts.findUserByUsername('alice')
  await app.tokenAuth.accounts.setDisabled(alice?.id as string, true)
  const res = await post(app, { username: 'alice', password: PASSWORD })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

forEachStore(t, 'a password bcrypt cannot take whole is just wrong at login, and no truncated compare runs', async (t, target) => {
  const { app, hasher } = await setup(t, target)
  for (const password of [PASSWORD + 'x'.repeat(72), 'abc\u0000def', '\uFDFA\uFDFA\uFDFA']) {
    const res = await post(app, { username: 'alice', password })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
  t.equal(hasher.verifications, 0)
})

forEachStore(t, 'the same password typed in NFC and NFD logs in', async (t, target) => {
  const { app } = await setup(t, target)
  await app.tokenAuth.accounts.createUser({ username: 'zoe', password: 'Caf\u00e9 au lait' })
  t.equal((await post(app, { username: 'zoe', password: 'Caf\u00e9 au lait' })).statusCode, 200, 'NFC')
  t.equal((await post(app, { username: 'zoe', password: 'Cafe\u0301 au lait' })).statusCode, 200, 'NFD')
})

forEachStore(t, 'a username that could never exist is an ordinary failure, counted by the throttle', async (t, target) => {
  const { app, hasher } = await setup(t, target, { auth: { throttle: { maxAccountFailures: 2 } } })
  for (let i = 0; i < 2; i++) {
    const res = await post(app, { username: 'alice\u0007', password: 'wrong password' })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
  t.equal(hasher.verifications, 2, 'the same bcrypt work as for any unknown user')
  t.equal((await post(app, { username: 'alice\u0007', password: 'wrong password' })).statusCode, 429)
})

forEachStore(t, 'a NUL or a huge name in the username is an ordinary 401, never a 5xx, on every database', async (t, target) => {
  const { app } = await setup(t, target)
  for (const username of ['alice\u0000', '\u0000', 'ali\u0000ce', 'x'.repeat(254), '\uD800', '👩‍💻'.repeat(20)]) {
    const res = await post(app, { username, password: 'wrong password' })
    t.equal(res.statusCode, 401, JSON.stringify(username))
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
})

forEachStore(t, 'SQL-injection strings as username get 401 and leave the table intact', async (t, target) => {
  const { app } = await setup(t, target)
  for (const username of ["alice' OR '1'='1", "alice'; DROP TABLE users; --", 'alice" OR 1=1 --', "' UNION SELECT * FROM users --", 'alice\\']) {
    const res = await post(app, { username, password: 'x' })
    t.equal(res.statusCode, 401, username)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
  t.ok(await app.tokenAuth.accounts.findUserByUsername('alice'))
  t.equal((await post(app, { username: 'alice', password: PASSWORD })).statusCode, 200)
})

forEachStore(t, 'a login with an outdated bcrypt cost rehashes the password at the configured cost', async (t, target) => {
  const { app, store } = await setup(t, target, { hasher: new CountingHasher(11) })
  const alice = await store.users.findByUsername('alice')
  await store.users.update(alice?.id as string, { set: { passwordHash: await bcryptHash(PASSWORD, 10) } })
  t.equal((await post(app, { username: 'alice', password: PASSWORD })).statusCode, 200)
  t.match((await store.users.findByUsername('alice'))?.passwordHash, /^\$2b\$11\$/)
  t.equal((await post(app, { username: 'alice', password: PASSWORD })).statusCode, 200, 'the new hash works')
})

t.test('malformed bodies are a 400 before any bcrypt work', async (t) => {
  const { app, hasher } = await setup(t, memoryStoreTarget())
  const bodies: Array<[string, unknown]> = [
    ['{"$ne": null} as password', { username: 'alice', password: { $ne: null } }],
    ['an array password', { username: 'alice', password: [PASSWORD] }],
    ['a number password', { username: 'alice', password: 12345678 }],
    ['a boolean password', { username: 'alice', password: true }],
    ['a null password', { username: 'alice', password: null }],
    ['an empty password', { username: 'alice', password: '' }],
    ['a 1 MB password', { username: 'alice', password: 'x'.repeat(1_000_000) }],
    ['a missing password', { username: 'alice' }],
    ['a number username', { username: 42, password: PASSWORD }],
    ['a 255-character username', { username: 'a'.repeat(255), password: PASSWORD }],
    ['an extra property', { username: 'alice', password: PASSWORD, admin: true }],
    ['a non-boolean include_refresh_token', { username: 'alice', password: PASSWORD, include_refresh_token: 'yes' }],
    ['an array body', [{ username: 'alice', password: PASSWORD }]],
    ['a string body', JSON.stringify('alice')]
  ]
  for (const [name, body] of bodies) {
    const res = await post(app, JSON.stringify(body), { 'content-type': 'application/json' })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'FST_ERR_VALIDATION', name)
    t.equal(res.headers['www-authenticate'], undefined)
  }
  for (const raw of ['{"username":"alice","password":"x","__proto__":{"admin":true}}', '{"username":"alice","password":"x","constructor":{"prototype":{"admin":true}}}', '{"username":', '']) {
    const res = await post(app, raw, { 'content-type': 'application/json' })
    t.equal(res.statusCode, 400, raw)
    t.match(res.json().code, /^FST_ERR_CTP_/)
    t.equal(res.headers['www-authenticate'], undefined)
  }
  t.equal(hasher.verifications, 0)
})

t.test('only JSON is accepted: forms and text/plain get 415', async (t) => {
  const { app, hasher } = await setup(t, memoryStoreTarget())
  for (const [type, payload] of [
    ['application/x-www-form-urlencoded', `username=alice&password=${encodeURIComponent(PASSWORD)}`],
    ['text/plain', JSON.stringify({ username: 'alice', password: PASSWORD })],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice\r\n--x--']
  ]) {
    const res = await post(app, payload, { 'content-type': type })
    t.equal(res.statusCode, 415, type)
    t.equal(res.json().code, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    t.equal(res.headers['www-authenticate'], undefined)
  }
  t.equal(hasher.verifications, 0)
})

t.test('a browser gets the tokens only as HttpOnly cookies, never in the body', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const res = await post(app, { username: 'alice', password: PASSWORD, include_refresh_token: true }, { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' })
  t.equal(res.statusCode, 200)
  t.same(Object.keys(res.json()).sort(), ['expires_in', 'token_type', 'user'], 'no access_token, no refresh_token, even when asked')
  t.same(Object.keys(cookiesOf(res)).sort(), ['__Host-access-token', '__Host-csrf-token', '__Secure-device', '__Secure-refresh-token'])
  t.equal((await app.inject({ url: '/me', headers: { cookie: `__Host-access-token=${cookiesOf(res)['__Host-access-token']}` } })).statusCode, 200)
})

t.test('include_refresh_token returns the refresh token in the body instead of a cookie', async (t) => {
  const { app } = await setup(t, memoryStoreTarget())
  const res = await post(app, { username: 'alice', password: PASSWORD, include_refresh_token: true })
  t.match(res.json(), { refresh_token: /^[A-Za-z0-9_-]{43}$/, refresh_token_expires_in: Number })
  t.notOk('__Secure-refresh-token' in cookiesOf(res))
  t.ok('__Host-access-token' in cookiesOf(res), 'the access cookie is still set')
})

t.test('with the cookie transport off, no cookies are set and the refresh token is in the body', async (t) => {
  const { app } = await setup(t, memoryStoreTarget(), { auth: { transport: { cookie: false } } })
  const res = await post(app, { username: 'alice', password: PASSWORD })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['set-cookie'], undefined)
  t.match(res.json(), { refresh_token: /^[A-Za-z0-9_-]{43}$/ })
})

t.test('audit hooks hear of every success and failure, with reasons the client never sees', async (t) => {
  const events: string[] = []
  const { app } = await setup(t, memoryStoreTarget(), {
    routes: {
      onLoginSuccess: ({ user }) => { events.push(`success:${user.username}`) },
      onLoginFailure: async ({ username, reason }) => { events.push(`failure:${username}:${reason}`) }
    },
    auth: { throttle: { maxAccountFailures: 3 } }
  })
  await post(app, { username: 'alice', password: PASSWORD })
  await post(app, { username: 'alice', password: 'wrong password' })
  await post(app, { username: 'nobody', password: 'wrong password' })
  await post(app, { username: 'alice', password: 'x'.repeat(100) })
  await post(app, { username: 'alice', password: 'wrong password' })
  await post(app, { username: 'alice', password: 'wrong password' })
  await post(app, { username: 'alice', password: PASSWORD })
  t.same(events, [
    'success:alice',
    'failure:alice:wrong_password',
    'failure:nobody:unknown_user',
    'failure:alice:unusable_password',
    'failure:alice:wrong_password',
    // The third attempt reached the limit: the next two, the right password too, are refused unchecked.
    'failure:alice:throttled',
    'failure:alice:throttled'
  ])
})

t.test('the public user comes from the publicUser option, and claims from the claims option', async (t) => {
  const { app } = await setup(t, memoryStoreTarget(), {
    routes: { publicUser: (user) => ({ id: user.id, username: user.username, display: user.username.toUpperCase() }) },
    auth: { claims: (user) => ({ roles: user.roles, email: user.email }) }
  })
  const res = await post(app, { username: 'alice', password: PASSWORD })
  t.match(res.json().user, { username: 'alice', display: 'ALICE' })
  const me = await app.inject({ url: '/me', headers: bearer(res.json().access_token) })
  t.match(me.json(), { email: 'alice@example.com', roles: ['admin'] })
})
