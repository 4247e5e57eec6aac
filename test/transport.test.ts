import t, { type Test } from 'tap'
import { buildApp, buildSessionApp } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { login, type LoggedIn } from './helpers/session.js'

// Where a token may come from: the Authorization header or the access-token cookie, never the query.

const COOKIE = '__Host-access-token'
const cookie = (token: string): Record<string, string> => ({ cookie: `${COOKIE}=${token}` })

t.test('a Bearer token in the header authenticates, with the scheme in any case', async (t) => {
  const app = await buildApp(t)
  const token = await app.tokenAuth.sign({ sub: 'u1' })
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const res = await app.inject({ url: '/me', headers: { authorization: `${scheme} ${token}` } })
    t.equal(res.statusCode, 200, scheme)
  }
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer   ${token}  ` } })).statusCode, 200, 'extra spaces around the token')
})

t.test('the access-token cookie authenticates a safe request', async (t) => {
  const app = await buildApp(t)
  const res = await app.inject({ url: '/me', headers: cookie(await app.tokenAuth.sign({ sub: 'u1' })) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().sub, 'u1')
})

t.test('no credentials: 401 with a bare challenge', async (t) => {
  const app = await buildApp(t)
  const res = await app.inject({ url: '/me' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('a token in the query string is ignored', async (t) => {
  const app = await buildApp(t)
  const token = await app.tokenAuth.sign({ sub: 'u1' })
  for (const name of ['access_token', 'token']) {
    const res = await app.inject({ url: `/me?${name}=${token}` })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
})

t.test('other schemes are not tokens: Basic is answered like no credentials', async (t) => {
  const app = await buildApp(t)
  for (const authorization of ['Basic YWxpY2U6c2VjcmV0', 'Digest username="a"', 'Token abc', 'Bearerabc']) {
    const res = await app.inject({ url: '/me', headers: { authorization } })
    t.equal(res.statusCode, 401, authorization)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  }
})

t.test('an empty or malformed Bearer value is a 400 invalid_request', async (t) => {
  const app = await buildApp(t)
  for (const authorization of ['Bearer', 'Bearer ', 'Bearer    ', 'Bearer abc def', 'Bearer a,b', 'Bearer "quoted"', 'Bearer abc=def']) {
    const res = await app.inject({ url: '/me', headers: { authorization } })
    t.equal(res.statusCode, 400, JSON.stringify(authorization))
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_REQUEST')
    t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_request", error_description="[^"]+"$/)
  }
})

t.test('a header and a cookie in one request are a 400 invalid_request by default (RFC 6750 §2)', async (t) => {
  const app = await buildApp(t)
  const token = await app.tokenAuth.sign({ sub: 'u1' })
  const res = await app.inject({ url: '/me', headers: { ...bearer(token), ...cookie(token) } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_REQUEST')
  t.match(res.headers['www-authenticate'], /error="invalid_request"/)
})

t.test('transport.prefer picks one of the two', async (t) => {
  const preferHeader = await buildApp(t, { auth: { transport: { prefer: 'header' } } })
  const preferCookie = await buildApp(t, { auth: { transport: { prefer: 'cookie' } } })
  const headerToken = await preferHeader.tokenAuth.sign({ sub: 'from-header' })
  const cookieToken = await preferHeader.tokenAuth.sign({ sub: 'from-cookie' })
  const headers = { ...bearer(headerToken), ...cookie(cookieToken) }
  t.equal((await preferHeader.inject({ url: '/me', headers })).json().sub, 'from-header')
  t.equal((await preferCookie.inject({ url: '/me', headers })).json().sub, 'from-cookie')
})

t.test('with the cookie transport off, the cookie is not a credential', async (t) => {
  const app = await buildApp(t, { auth: { transport: { cookie: false } } })
  const token = await app.tokenAuth.sign({ sub: 'u1' })
  const res = await app.inject({ url: '/me', headers: cookie(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
  t.notOk(app.hasDecorator('parseCookie'), 'no cookie plugin is registered')
})

t.test('with the header transport off, a Bearer header is not a credential', async (t) => {
  const app = await buildApp(t, { auth: { transport: { header: false } } })
  const token = await app.tokenAuth.sign({ sub: 'u1' })
  const res = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  t.equal((await app.inject({ url: '/me', headers: cookie(token) })).statusCode, 200)
})

t.test('an empty access-token cookie counts as no cookie', async (t) => {
  const app = await buildApp(t)
  const res = await app.inject({ url: '/me', headers: { cookie: `${COOKIE}=` } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('a realm option changes the challenge', async (t) => {
  const app = await buildApp(t, { auth: { realm: 'reports' } })
  t.equal((await app.inject({ url: '/me' })).headers['www-authenticate'], 'Bearer realm="reports"')
})

t.test('a custom error handler still sends the challenge header', async (t) => {
  const Fastify = (await import('fastify')).default
  const tokenAuth = (await import('fastify-token-auth')).default
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: 'qffGPDMsQaWJw8SRcnESb_I8z7VGyC12Pr3rbRQyqMIX' })
  app.setErrorHandler(async (error: { statusCode?: number }, _request, reply) => await reply.code(error.statusCode ?? 500).send({ failed: true }))
  app.get('/me', { onRequest: app.authenticate }, async () => 'ok')
  const res = await app.inject({ url: '/me' })
  t.equal(res.statusCode, 401)
  t.same(res.json(), { failed: true })
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('an app that registered @fastify/cookie itself keeps it, and cookie auth works', async (t) => {
  const Fastify = (await import('fastify')).default
  const fastifyCookie = (await import('@fastify/cookie')).default
  const tokenAuth = (await import('fastify-token-auth')).default
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(fastifyCookie, { hook: false })
  await app.register(tokenAuth, { secret: 'dWw7ei7BiUbJSI0uKRBj3paaRYfFg8qZChUOS60Oat5u' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  const res = await app.inject({ url: '/me', headers: cookie(await app.tokenAuth.sign({ sub: 'u3' })) })
  t.equal(res.statusCode, 200, 'the cookie is read even when the app turned @fastify/cookie\'s parsing hook off')
  t.equal(res.json().sub, 'u3')
  t.equal((await app.inject({ url: '/me', headers: bearer(await app.tokenAuth.sign({ sub: 'u3' })) })).statusCode, 200, 'and a request without cookies still works')
})

// A sibling subdomain can plant a cookie of our name with Domain= and a longer path; the
// browser then sends two, and the cookie parser would silently keep one of them.

async function sessionApp (t: Test): Promise<{ app: Awaited<ReturnType<typeof buildApp>>, session: LoggedIn }> {
  const { app } = await buildSessionApp(t)
  return { app, session: await login(app) }
}

function assertDuplicateRefused (t: Test, res: Awaited<ReturnType<Awaited<ReturnType<typeof buildApp>>['inject']>>, what: string): void {
  t.equal(res.statusCode, 400, what)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_REQUEST')
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_request", error_description="[^"]*twice"$/)
}

t.test('two access-token cookies in one request are a 400 invalid_request', async (t) => {
  const { app, session } = await sessionApp(t)
  const planted = await app.tokenAuth.sign({ sub: 'mallory' })
  for (const cookie of [`${COOKIE}=${planted}; ${session.cookieHeader}`, `${session.cookieHeader};${COOKIE}=${planted}`, `${COOKIE}=${planted}; ${COOKIE} =${session.accessToken}`]) {
    assertDuplicateRefused(t, await app.inject({ url: '/me', headers: { cookie } }), cookie.slice(0, 40))
  }
})

t.test('two CSRF cookies on an unsafe cookie request are a 400 invalid_request', async (t) => {
  const { app, session } = await sessionApp(t)
  const cookie = `__Host-csrf-token=${session.csrfToken}; ${session.cookieHeader}`
  assertDuplicateRefused(t, await app.inject({ method: 'POST', url: '/me', headers: { cookie, 'x-csrf-token': session.csrfToken } }), 'POST /me')
})

t.test('two refresh cookies are a 400 invalid_request, and neither is spent', async (t) => {
  const { app, session } = await sessionApp(t)
  const other = await login(app)
  const headers = { 'x-csrf-token': session.csrfToken }
  for (const cookie of [`__Secure-refresh-token=${other.refreshToken}; ${session.cookieHeader}`, `${session.cookieHeader}; __Secure-refresh-token=${other.refreshToken}`]) {
    assertDuplicateRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...headers, cookie } }), 'refresh')
    assertDuplicateRefused(t, await app.inject({ method: 'POST', url: '/auth/logout', headers: { ...headers, cookie } }), 'logout')
  }
  t.equal((await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...headers, cookie: session.cookieHeader } })).statusCode, 200, 'the session\'s own refresh token was not spent')
  const otherRefresh = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { 'x-csrf-token': other.csrfToken, cookie: other.cookieHeader } })
  t.equal(otherRefresh.statusCode, 200, 'nor the planted one')
})

t.test('our cookie name inside another cookie\'s value or name is not a duplicate', async (t) => {
  const { app, session } = await sessionApp(t)
  for (const cookie of [`note=${COOKIE}=x; ${session.cookieHeader}`, `x${COOKIE}=y; ${session.cookieHeader}`]) {
    t.equal((await app.inject({ url: '/me', headers: { cookie } })).statusCode, 200, cookie.slice(0, 40))
  }
  const lookalikes = await app.inject({ url: '/me', headers: { cookie: `x${COOKIE}=y; y${COOKIE}=z` } })
  t.equal(lookalikes.json().code, 'FST_TOKEN_AUTH_NO_TOKEN', 'two look-alike names are no access cookie at all')
})
