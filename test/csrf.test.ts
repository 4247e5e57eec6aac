import t, { type Test } from 'tap'
import { buildApp, PASSWORD } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { login, type LoggedIn } from './helpers/session.js'
import { forEachStore, memoryStoreTarget, type StoreTarget, createUser } from './helpers/stores.js'

// Cookie-authenticated unsafe requests must prove they come from our own page.

async function setup (t: Test, target: StoreTarget, allowedOrigins?: string[]): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const store = await target.create(t)
  await createUser(store, { username: 'alice', password: PASSWORD })
  return await buildApp(t, { auth: { store, csrf: { allowedOrigins } }, routes: {} })
}

type App = Awaited<ReturnType<typeof setup>>

function browserHeaders (session: LoggedIn, extra: Record<string, string> = {}): Record<string, string> {
  return { cookie: session.cookieHeader, host: 'app.example', ...extra }
}

function assertCsrfRefused (t: Test, res: Awaited<ReturnType<App['inject']>>): void {
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_CSRF')
  t.equal(res.headers['www-authenticate'], undefined, 'not a token problem: no Bearer challenge')
}

async function sessionStillAlive (app: App, session: LoggedIn): Promise<boolean> {
  return (await app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode === 200
}

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
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: { cookie: `__Host-access-token=${session.accessToken}`, 'x-csrf-token': session.csrfToken } }))
})

t.test('the right CSRF header from the page\'s own origin passes', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const res = await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, origin: 'https://app.example', 'sec-fetch-site': 'same-origin' }) })
  t.equal(res.statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, 'sec-fetch-site': 'same-site' }) })).statusCode, 200, 'same-site is allowed')
})

t.test('Sec-Fetch-Site cross-site, Origin null and unparseable origins are refused', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  const attempts: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { origin: 'null' }, { origin: 'https://app.example.evil.example' }, { origin: 'http://app.example:8080' }]
  for (const extra of attempts) {
    assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: browserHeaders(session, { 'x-csrf-token': session.csrfToken, ...extra }) }))
  }
})

t.test('csrf.allowedOrigins replaces the same-host default', async (t) => {
  const app = await setup(t, memoryStoreTarget(), ['https://console.example'])
  const session = await login(app)
  const headers = (origin: string): Record<string, string> => browserHeaders(session, { 'x-csrf-token': session.csrfToken, origin })
  t.equal((await app.inject({ method: 'POST', url: '/me', headers: headers('https://console.example') })).statusCode, 200)
  assertCsrfRefused(t, await app.inject({ method: 'POST', url: '/me', headers: headers('https://app.example') }))
})

t.test('safe methods and Bearer requests need no CSRF token', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const session = await login(app)
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: browserHeaders(session, { origin: 'https://evil.example' }) })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/me', headers: { ...bearer(session.accessToken), origin: 'https://evil.example' } })).statusCode, 200)
})
