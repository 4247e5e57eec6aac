import { createSecretKey, generateKeyPairSync } from 'node:crypto'
import t, { type Test } from 'tap'
import { createMemoryStore, type AuthStore, type TokenAuthOptions } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { asCookieHeader, cookiesOf, login, type LoggedIn } from './helpers/session.js'
import { createUser, forEachStore, memoryStoreTarget, type StoreTarget } from './helpers/stores.js'

// Cookie-authenticated unsafe requests must prove they come from our own page, in the session they act in.

const CSRF_COOKIE = '__Host-csrf-token'
const REFRESH_COOKIE = '__Secure-refresh-token'
const ACCESS_COOKIE = '__Host-access-token'

async function setup (t: Test, target: StoreTarget, csrf: TokenAuthOptions['csrf'] = {}): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const store = await target.create(t)
  await createUser(store, { username: 'alice', password: PASSWORD })
  await createUser(store, { username: 'mallory', password: PASSWORD })
  // Behind a TLS-terminating proxy: the app's own origin is https://app.example.
  return await buildApp(t, { auth: { store, csrf }, routes: {}, fastify: { logger: false, trustProxy: true } })
}

type App = Awaited<ReturnType<typeof setup>>

const HTTPS = { host: 'app.example', 'x-forwarded-proto': 'https' }

function browserHeaders (session: LoggedIn, extra: Record<string, string> = {}): Record<string, string> {
  return { cookie: session.cookieHeader, ...HTTPS, ...extra }
}

function assertCsrfRefused (t: Test, res: Awaited<ReturnType<App['inject']>>, message = 'refused'): void {
  t.equal(res.statusCode, 403, message)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_CSRF')
  t.equal(res.headers['www-authenticate'], undefined, 'not a token problem: no Bearer challenge')
}

async function sessionStillAlive (app: App, session: LoggedIn): Promise<boolean> {
  return (await app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode === 200
}

const mallory = { username: 'mallory' }

forEachStore(t, 'a cookie-authenticated POST with Origin https://evil.example is refused and changes nothing', async (t, target) => {
  const app = await setup(t, target)
  const session = await login(app)
  const res = await app.inject({ method: 'POST', url: '/auth/logout-all', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, origin: 'https://evil.example' }) })
  assertCsrfRefused(t, res)
  t.ok(await sessionStillAlive(app, session), 'the sessions were not revoked')
  const refresh = await app.inject({ method: 'POST', url: '/auth/refresh', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, origin: 'https://evil.example' }) })
  assertCsrfRefused(t, refresh)
  const again = await app.inject({ method: 'POST', url: '/auth/refresh', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken }) })
  t.equal(again.statusCode, 200, 'the refresh token was not spent by the refused request')
})

t.test('without the CSRF header, or with a wrong one, a cookie POST is refused', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session) }))
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': 'x'.repeat(43) }) }))
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken.slice(1) }) }))
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    assertCsrfRefused(t, await app.inject({ method, url: '/me', headers: browserHeaders(session) }))
  }
})

t.test('the CSRF cookie\'s value is not trusted: a cookie and header that agree on another value are refused', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const cookie = asCookieHeader({ ...session.cookies, [CSRF_COOKIE]: 'planted-value' })
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: { ...HTTPS, cookie, 'x-csrf-token': 'planted-value' } }))
})

t.test('a CSRF header from another session is refused, even with that session\'s CSRF cookie', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const victim = await login(app)
  const attacker = await login(app, mallory)
  t.not(victim.csrfToken, attacker.csrfToken)
  const cookie = asCookieHeader({ ...victim.cookies, [CSRF_COOKIE]: attacker.csrfToken })
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: { ...HTTPS, cookie, 'x-csrf-token': attacker.csrfToken } }))
  const sameUser = await login(app)
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(victim, { 'x-csrf-token': sameUser.csrfToken }) }), 'another session of the same user')
})

t.test('the CSRF token is the session\'s: it survives a refresh, and only the header is needed with the cookie', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  t.equal(session.csrfToken, app.tokenAuth.csrfTokenFor(JSON.parse(Buffer.from(session.accessToken.split('.')[1], 'base64url').toString()).sid))
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken }) })
  t.equal(refreshed.statusCode, 200)
  t.equal(cookiesOf(refreshed)[CSRF_COOKIE], session.csrfToken, 'the rotated session keeps its CSRF token')
  const res = await app.inject({ method: 'POST', url: '/me', headers: { ...HTTPS, cookie: `${ACCESS_COOKIE}=${session.accessToken}`, 'x-csrf-token': session.csrfToken } })
  t.equal(res.statusCode, 200)
})

t.test('a token without a sid is bound by its jti', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const token = await app.tokenAuth.sign({ sub: 'u1' })
  const jti = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti
  const headers = { ...HTTPS, cookie: `${ACCESS_COOKIE}=${token}` }
  t.equal((await app.inject({ method: 'POST', url: '/me', headers: { ...headers, 'x-csrf-token': app.tokenAuth.csrfTokenFor(jti) } })).statusCode, 200)
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: { ...headers, 'x-csrf-token': app.tokenAuth.csrfTokenFor('another') } }))
})

t.test('an invalid access cookie is a 401 before any CSRF check', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const res = await app.inject({ method: 'POST', url: '/me', headers: { ...HTTPS, cookie: `${ACCESS_COOKIE}=not.a.token`, origin: 'https://evil.example' } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/)
})

forEachStore(t, 'a planted refresh cookie of another session, with its own valid CSRF token, is refused beside the victim\'s access cookie', async (t, target) => {
  const app = await setup(t, target)
  const victim = await login(app)
  const attacker = await login(app, mallory)
  // What a sibling subdomain can plant: its refresh cookie and, where the name allows it, its CSRF cookie.
  const cookie = asCookieHeader({ [ACCESS_COOKIE]: victim.cookies[ACCESS_COOKIE], [CSRF_COOKIE]: attacker.csrfToken, [REFRESH_COOKIE]: attacker.refreshToken })
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...HTTPS, cookie, 'x-csrf-token': attacker.csrfToken } })
  assertCsrfRefused(t, res)
  t.equal(res.cookies.length, 0, 'no session cookie was set')
  t.ok(await sessionStillAlive(app, victim), 'the victim\'s session is untouched')
  const spent = await app.inject({ method: 'POST', url: '/auth/refresh', headers: browserHeaders(attacker, { 'x-csrf-token': attacker.csrfToken }) })
  t.equal(spent.statusCode, 200, 'the planted refresh token was not spent')
})

t.test('a refresh cookie needs the CSRF token of its own session', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const victim = await login(app)
  const attacker = await login(app, mallory)
  // The victim's page echoes the victim's token; the refresh cookie is the attacker's (the access cookie expired).
  const cookie = asCookieHeader({ [CSRF_COOKIE]: victim.csrfToken, [REFRESH_COOKIE]: attacker.refreshToken })
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...HTTPS, cookie, 'x-csrf-token': victim.csrfToken } }))
  const expiredAccess = asCookieHeader({ [ACCESS_COOKIE]: 'expired.or.invalid', [REFRESH_COOKIE]: victim.refreshToken })
  const own = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...HTTPS, cookie: expiredAccess, 'x-csrf-token': victim.csrfToken } })
  t.equal(own.statusCode, 200, 'an access cookie that does not verify names no session')
  const onlyRefresh = `${REFRESH_COOKIE}=${cookiesOf(own)[REFRESH_COOKIE]}`
  t.equal((await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...HTTPS, cookie: onlyRefresh, 'x-csrf-token': victim.csrfToken } })).statusCode, 200, 'no access cookie at all')
})

t.test('an unknown refresh cookie still passes the origin checks, then is a 401', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const cookie = `${REFRESH_COOKIE}=${'A'.repeat(43)}`
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...HTTPS, cookie, origin: 'https://evil.example' } }))
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...HTTPS, cookie } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('the right CSRF header from the page\'s own origin passes', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const res = await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, origin: 'https://app.example', 'sec-fetch-site': 'same-origin' }) })
  t.equal(res.statusCode, 200)
})

t.test('origins are compared normalised: scheme, host and port without the default port', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const post = async (headers: Record<string, string>): Promise<number> =>
    (await app.inject({ method: 'POST', url: '/me', headers: { cookie: session.cookieHeader, 'x-csrf-token': session.csrfToken, ...headers } })).statusCode
  t.equal(await post({ host: 'localhost:80', origin: 'http://localhost' }), 200, 'Host localhost:80, Origin http://localhost')
  t.equal(await post({ host: 'example.com:443', 'x-forwarded-proto': 'https', origin: 'https://example.com' }), 200, 'Host example.com:443, Origin https://example.com')
  t.equal(await post({ host: 'Example.COM', 'x-forwarded-proto': 'https', origin: 'https://example.com:443' }), 200, 'case and an explicit default port')
  t.equal(await post({ host: 'localhost:8080', origin: 'http://localhost:8080' }), 200, 'a non-default port on both sides')
})

t.test('an http:// origin for an https app is refused, and other ports and hosts too', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const attempts = ['http://app.example', 'https://app.example:8443', 'https://app.example.evil.example', 'null', 'file:///etc/passwd', 'not an origin']
  for (const origin of attempts) {
    assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, origin }) }), origin)
  }
})

t.test('Sec-Fetch-Site cross-site and same-site are refused: a sibling subdomain is another site to us', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const attempts: Array<Record<string, string>> = [
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { 'sec-fetch-site': 'same-site', origin: 'https://evil.app.example' }
  ]
  for (const extra of attempts) {
    assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, ...extra }) }), JSON.stringify(extra))
  }
})

t.test('csrf.allowedOrigins replaces the own-origin default, and lets a listed same-site origin in', async (t) => {
  const app = await setup(t, memoryStoreTarget(), { allowedOrigins: ['https://console.app.example'] })
  const session = await login(app)
  const headers = (extra: Record<string, string>): Record<string, string> => browserHeaders(session, { 'x-csrf-token': session.csrfToken, ...extra })
  t.equal((await app.inject({ method: 'POST', url: '/me', headers: headers({ origin: 'https://console.app.example' }) })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/me', headers: headers({ origin: 'https://console.app.example', 'sec-fetch-site': 'same-site' }) })).statusCode, 200)
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: headers({ origin: 'https://app.example' }) }))
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: headers({ origin: 'https://evil.app.example', 'sec-fetch-site': 'same-site' }) }))
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: headers({ origin: 'https://console.app.example', 'sec-fetch-site': 'cross-site' }) }))
})

t.test('safe methods and Bearer requests need no CSRF token', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: browserHeaders(session, { origin: 'https://evil.example' }) })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/me', headers: { ...bearer(session.accessToken), origin: 'https://evil.example' } })).statusCode, 200)
})

t.test('login from another site, a sibling subdomain or a foreign origin is refused and counts as no attempt', async (t) => {
  const failures: string[] = []
  const store = createMemoryStore()
  await createUser(store, { username: 'alice', password: PASSWORD })
  const app = await buildApp(t, {
    auth: { store, throttle: { maxAccountFailures: 1 } },
    routes: { onLoginFailure: ({ reason }) => { failures.push(reason) } },
    fastify: { logger: false, trustProxy: true }
  })
  const attempts: Array<Record<string, string>> = [
    { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site', origin: 'https://evil.app.example' },
    { origin: 'https://evil.example' },
    { origin: 'http://app.example' }
  ]
  for (const extra of attempts) {
    for (const password of [PASSWORD, 'wrong password']) {
      const res = await app.inject({ method: 'POST', url: '/auth/login', headers: { ...HTTPS, ...extra }, payload: { username: 'alice', password } })
      assertCsrfRefused(t, res, JSON.stringify(extra))
      t.equal(res.cookies.length, 0, 'no session cookie')
    }
  }
  t.same(failures, [], 'no failed login was recorded')
  const own = await app.inject({ method: 'POST', url: '/auth/login', headers: { ...HTTPS, origin: 'https://app.example', 'sec-fetch-site': 'same-origin' }, payload: { username: 'alice', password: PASSWORD } })
  t.equal(own.statusCode, 200, 'the account is not throttled, and the own page signs in')
})

t.test('with the cookie transport off, login is not origin-checked (tokens go to the body only)', async (t) => {
  const store = createMemoryStore()
  await createUser(store, { username: 'alice', password: PASSWORD })
  const app = await buildApp(t, { auth: { store, transport: { cookie: false } }, routes: {} })
  const res = await app.inject({ method: 'POST', url: '/auth/login', headers: { origin: 'https://spa.example', 'sec-fetch-site': 'cross-site' }, payload: { username: 'alice', password: PASSWORD } })
  t.equal(res.statusCode, 200)
  t.equal(res.cookies.length, 0)
})

async function rotationApp (t: Test, store: AuthStore, keys: NonNullable<TokenAuthOptions['keys']>): Promise<App> {
  return await buildApp(t, { auth: { store, keys }, routes: {}, fastify: { logger: false, trustProxy: true } })
}

t.test('key rotation keeps CSRF tokens valid: a session from before still passes, new ones use the new key', async (t) => {
  const store = createMemoryStore()
  await createUser(store, { username: 'alice', password: PASSWORD })
  const oldKey = { kid: 'old', secret: createSecretKey(Buffer.from('vZOBAZDeQ920Dqicir62f1TsdSQOgOEly3mgIvNVXoGl')) }
  const newKey = { kid: 'new', privateKey: generateKeyPairSync('ed25519').privateKey }
  const before = await rotationApp(t, store, [oldKey])
  const after = await rotationApp(t, store, [newKey, oldKey])
  const session = await login(before)
  const res = await after.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken }) })
  t.equal(res.statusCode, 200, 'the old session\'s CSRF token is accepted after the rotation')
  const refreshed = await after.inject({ method: 'POST', url: '/auth/refresh', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken }) })
  t.equal(refreshed.statusCode, 200, 'and it can refresh')
  const renewed = cookiesOf(refreshed)[CSRF_COOKIE]
  t.not(renewed, session.csrfToken, 'the renewed session gets a token under the new signing key')
  const next = { ...session.cookies, ...cookiesOf(refreshed) }
  t.equal((await after.inject({ method: 'POST', url: '/me', headers: { ...HTTPS, cookie: asCookieHeader(next), 'x-csrf-token': renewed } })).statusCode, 200)
  const removed = await rotationApp(t, store, [newKey])
  assertCsrfRefused(t, await removed.inject({ method: 'POST', url: '/me', headers: { ...HTTPS, cookie: asCookieHeader(next), 'x-csrf-token': session.csrfToken } }), 'a removed key\'s CSRF tokens stop passing')
})

t.test('RSA, RSA-PSS and EC P-384 signing keys derive the CSRF key as the others do: the session token passes, another key\'s does not', async (t) => {
  const store = createMemoryStore()
  await createUser(store, { username: 'alice', password: PASSWORD })
  const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const privateKeys = [rsaPem, generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey, generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey]
  const apps = await Promise.all(privateKeys.map(async (privateKey) => await rotationApp(t, store, [{ kid: 'k', privateKey }])))
  for (const [index, app] of apps.entries()) {
    const session = await login(app)
    t.equal((await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken }) })).statusCode, 200, `key ${index}: the session's CSRF token passes`)
    const other = apps[(index + 1) % apps.length].tokenAuth.csrfTokenFor('s1')
    t.not(app.tokenAuth.csrfTokenFor('s1'), other, `key ${index}: another private key derives another CSRF key`)
    assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session) }), `key ${index}: no CSRF token, refused`)
  }
})

t.test('a verify-only key ring with the cookie transport needs csrf.secret or transport.cookie: false', async (t) => {
  const { publicKey } = generateKeyPairSync('ed25519')
  await t.rejects(buildApp(t, { auth: { keys: [{ publicKey }] } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /csrf\.secret .*transport\.cookie: false/ })
  await t.rejects(buildApp(t, { auth: { keys: [{ publicKey }], csrf: { secret: 'too short' } } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /csrf\.secret must be .* at least 32 random bytes/ })
  await t.rejects(buildApp(t, { auth: { keys: [{ publicKey }], csrf: { secret: 42 as unknown as string } } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
  const bearerOnly = await buildApp(t, { auth: { keys: [{ publicKey }], transport: { cookie: false } } })
  t.ok(bearerOnly.hasDecorator('tokenAuth'))
  const secret = 'TJXWL-JQw3ap2J_b5KNn3-Td0mpP4lcxhD2uXZMLGBy4'
  const withSecret = await buildApp(t, { auth: { keys: [{ publicKey }], csrf: { secret } } })
  const other = await buildApp(t, { auth: { csrf: { secret: Buffer.from(secret) } } })
  t.equal(withSecret.tokenAuth.csrfTokenFor('s1'), other.tokenAuth.csrfTokenFor('s1'), 'services sharing csrf.secret agree on tokens')
  t.not(other.tokenAuth.csrfTokenFor('s1'), (await buildApp(t)).tokenAuth.csrfTokenFor('s1'), 'csrf.secret replaces the derived key')
})
