import fastifyCookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyPluginCallback, type FastifyRequest, type LightMyRequestResponse, type onRequestHookHandler } from 'fastify'
import { createRequire } from 'node:module'
import t, { type Test } from 'tap'
import tokenAuth, { loginRoutes, type AccessTokenClaims, type TokenAuthApi, type TokenAuthOptions } from 'fastify-token-auth'
import { SECRET, storeWithAlice } from './helpers/app.js'
import { cookiesOf, login } from './helpers/session.js'

// tokenAuth beside the plugins an existing app already has: its own @fastify/cookie (before
// or after tokenAuth), @fastify/jwt, and decorators of the same names.

// @fastify/jwt's types declare `request.user` for the whole program, where the other tests
// keep our default names: it is loaded untyped here. typetests/renamed shows both typed together.
const fastifyJwt = createRequire(import.meta.url)('@fastify/jwt') as FastifyPluginCallback<{ secret: string, decoratorName?: string }>
const JWT_SECRET = 'a-different-secret-for-fastify-jwt-0123456789'
const COOKIE_SECRET = 'the-app-s-own-cookie-signing-secret'
const SESSION_COOKIES = ['__Host-access-token', '__Host-csrf-token', '__Secure-refresh-token']

async function freshApp (t: Test): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(async () => { await app.close().catch(() => {}) })
  return app
}

/** tokenAuth options with decorator names the types of this program do not know (they keep the defaults). */
function withNames (options: TokenAuthOptions, decorators: Record<string, unknown>): TokenAuthOptions {
  return { ...options, decorators } as unknown as TokenAuthOptions
}

/**
 * An app with its own @fastify/cookie (signing secret) registered before or after tokenAuth,
 * the login routes, a route that signs a cookie of the app's own, and a hook that sets one
 * on every login response too (its onSend then merges with our Set-Cookie headers).
 */
async function appWithOwnCookies (t: Test, order: 'before' | 'after'): Promise<FastifyInstance> {
  const app = await freshApp(t)
  if (order === 'before') await app.register(fastifyCookie, { secret: COOKIE_SECRET })
  await app.register(tokenAuth, { secret: SECRET, store: await storeWithAlice(), passwords: { bcryptCost: 10 } })
  if (order === 'after') await app.register(fastifyCookie, { secret: COOKIE_SECRET })
  app.addHook('preHandler', async (request, reply) => {
    if (request.url === '/auth/login') reply.setCookie('visited', 'login', { path: '/' })
  })
  await app.register(loginRoutes, { prefix: '/auth' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  app.get('/theme', async (_request, reply) => reply.setCookie('theme', 'dark', { signed: true, path: '/', httpOnly: true }).send({ set: true }))
  app.get('/theme/read', async (request) => request.unsignCookie(request.cookies.theme ?? ''))
  await app.ready()
  return app
}

const setCookieNames = (res: LightMyRequestResponse): string[] => res.cookies.map((cookie) => cookie.name)

for (const order of ['before', 'after'] as const) {
  t.test(`with @fastify/cookie registered ${order} tokenAuth, the app's own signed cookie round-trips`, async (t) => {
    const app = await appWithOwnCookies(t, order)
    const set = await app.inject({ url: '/theme' })
    t.equal(set.statusCode, 200)
    const theme = set.cookies.find((cookie) => cookie.name === 'theme')
    t.match(theme, { httpOnly: true, path: '/' })
    t.not(theme?.value, 'dark', 'the value is signed')
    const read = await app.inject({ url: '/theme/read', headers: { cookie: `theme=${theme?.value as string}` } })
    t.same(read.json(), { valid: true, renew: false, value: 'dark' })
    const forged = await app.inject({ url: '/theme/read', headers: { cookie: 'theme=dark.forged' } })
    t.same(forged.json(), { valid: false, renew: false, value: null })
  })

  t.test(`with @fastify/cookie registered ${order} tokenAuth, login sets our cookies beside the app's own`, async (t) => {
    const app = await appWithOwnCookies(t, order)
    const session = await login(app)
    t.same(setCookieNames(session.response), [...SESSION_COOKIES, '__Secure-device', 'visited'], 'every Set-Cookie header is kept')
    t.match(session.response.cookies.find((cookie) => cookie.name === '__Host-access-token'), { httpOnly: true, secure: true, sameSite: 'Strict', path: '/', maxAge: 900 })
    const me = await app.inject({ url: '/me', headers: { cookie: `${session.cookieHeader}; theme=anything` } })
    t.equal(me.statusCode, 200, 'the access cookie authenticates')
    t.equal(me.json().sub, session.response.json().user.id)
  })

  t.test(`with @fastify/cookie registered ${order} tokenAuth, refresh and logout by cookie work`, async (t) => {
    const app = await appWithOwnCookies(t, order)
    const session = await login(app)
    const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: session.cookieHeader, 'x-csrf-token': session.csrfToken } })
    t.equal(refreshed.statusCode, 200)
    t.same(setCookieNames(refreshed), SESSION_COOKIES)
    const next = { ...session.cookies, ...cookiesOf(refreshed) }
    t.not(next['__Secure-refresh-token'], session.cookies['__Secure-refresh-token'], 'the refresh token rotated')
    const cookie = Object.entries(next).map(([name, value]) => `${name}=${value}`).join('; ')
    const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': next['__Host-csrf-token'] } })
    t.equal(out.statusCode, 204)
    t.same(out.cookies.map((cookie) => [cookie.name, cookie.value, cookie.maxAge, cookie.expires?.getTime()]), SESSION_COOKIES.map((name) => [name, '', 0, 0]), 'the session cookies are cleared')
    const after = await app.inject({ url: '/me', headers: { cookie } })
    t.equal(after.statusCode, 401)
    t.equal(after.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
    t.match(after.headers['www-authenticate'], /error="invalid_token"/)
  })
}

t.test('tokenAuth registers no cookie plugin of its own, so the app may register one with its own options', async (t) => {
  const app = await freshApp(t)
  await app.register(tokenAuth, { secret: SECRET })
  await app.ready()
  t.notOk(app.hasDecorator('parseCookie'))
  t.notOk(app.hasReplyDecorator('setCookie'))
})

t.test('a session set by the app\'s own route keeps the app\'s cookie set by @fastify/cookie in the same reply', async (t) => {
  const app = await freshApp(t)
  await app.register(tokenAuth, { secret: SECRET, store: await storeWithAlice(), passwords: { bcryptCost: 10 } })
  await app.register(fastifyCookie)
  app.post('/sso', async (_request, reply) => {
    const user = await app.tokenAuth.accounts.findUserByUsername('alice')
    reply.setCookie('before', '1')
    app.tokenAuth.setSessionCookies(reply, await app.tokenAuth.startSession(user as NonNullable<typeof user>), '/auth')
    reply.setCookie('after', '2')
    return { ok: true }
  })
  const res = await app.inject({ method: 'POST', url: '/sso' })
  t.equal(res.statusCode, 200)
  t.same(setCookieNames(res).sort(), [...SESSION_COOKIES, 'after', 'before'].sort())
})

/** The app of the @fastify/jwt recipe: @fastify/jwt first with its `request.user`, tokenAuth beside it under other names. */
async function appWithJwt (t: Test, names: { ours: Record<string, unknown>, jwtDecoratorName?: string }): Promise<FastifyInstance> {
  const app = await freshApp(t)
  await app.register(fastifyJwt, { secret: JWT_SECRET, ...names.jwtDecoratorName === undefined ? {} : { decoratorName: names.jwtDecoratorName } })
  await app.register(tokenAuth, withNames({ secret: SECRET }, names.ours))
  return app
}

t.test('@fastify/jwt and tokenAuth renamed with decorators.user each verify their own tokens, and neither accepts the other\'s', async (t) => {
  const app = await appWithJwt(t, { ours: { user: 'principal' } })
  type Ours = FastifyRequest & { principal: AccessTokenClaims }
  type Theirs = FastifyRequest & { user: unknown, jwtVerify: () => Promise<unknown> }
  app.get('/ours', { onRequest: app.authenticate }, async (request) => ({ principal: (request as Ours).principal, user: (request as Theirs).user }))
  app.get('/theirs', { onRequest: async (request) => { await (request as Theirs).jwtVerify() } }, async (request) => ({ user: (request as Theirs).user }))
  await app.ready()
  const jwt = app as unknown as { jwt: { sign: (payload: object) => string } }
  const ourToken = await app.tokenAuth.sign({ sub: 'ours-1' })
  const theirToken = jwt.jwt.sign({ sub: 'theirs-1' })

  const ours = await app.inject({ url: '/ours', headers: { authorization: `Bearer ${ourToken}` } })
  t.equal(ours.statusCode, 200)
  t.match(ours.json(), { principal: { sub: 'ours-1' } })
  t.equal(ours.json().user, null, '@fastify/jwt\'s request.user is left alone')
  const theirs = await app.inject({ url: '/theirs', headers: { authorization: `Bearer ${theirToken}` } })
  t.equal(theirs.statusCode, 200)
  t.match(theirs.json(), { user: { sub: 'theirs-1' } })

  const theirsOnOurs = await app.inject({ url: '/ours', headers: { authorization: `Bearer ${theirToken}` } })
  t.equal(theirsOnOurs.statusCode, 401)
  t.equal(theirsOnOurs.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  t.match(theirsOnOurs.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/)
  const oursOnTheirs = await app.inject({ url: '/theirs', headers: { authorization: `Bearer ${ourToken}` } })
  t.equal(oursOnTheirs.statusCode, 401)
  t.equal(oursOnTheirs.json().code, 'FST_JWT_AUTHORIZATION_TOKEN_INVALID')
  t.equal(oursOnTheirs.headers['www-authenticate'], undefined, 'our challenge is only for our errors')
})

t.test('@fastify/jwt with its own decoratorName leaves request.user to tokenAuth', async (t) => {
  const app = await appWithJwt(t, { ours: {}, jwtDecoratorName: 'jwtUser' })
  app.get('/ours', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  const res = await app.inject({ url: '/ours', headers: { authorization: `Bearer ${await app.tokenAuth.sign({ sub: 'u1' })}` } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().sub, 'u1')
})

t.test('every decorator can be renamed, and the login routes use the new names', async (t) => {
  const app = await freshApp(t)
  const names = { user: 'principal', verifyToken: 'verifyAccessToken', authenticate: 'requireToken', requireRole: 'needsRole', requireScope: 'needsScope', requireMfa: 'needsMfa', tokenAuth: 'tokens' }
  await app.register(tokenAuth, withNames({ secret: SECRET, store: await storeWithAlice(), passwords: { bcryptCost: 10 } }, names))
  await app.register(loginRoutes, { prefix: '/auth' })
  type Renamed = FastifyInstance & { requireToken: onRequestHookHandler, needsRole: (...roles: string[]) => onRequestHookHandler, needsScope: (...scopes: string[]) => onRequestHookHandler, needsMfa: onRequestHookHandler, tokens: TokenAuthApi }
  type RenamedRequest = FastifyRequest & { principal: AccessTokenClaims, verifyAccessToken: () => Promise<AccessTokenClaims> }
  const renamed = app as Renamed
  renamed.get('/me', { onRequest: renamed.requireToken }, async (request) => (request as RenamedRequest).principal)
  renamed.get('/admin', { onRequest: renamed.needsRole('admin') }, async () => 'admin')
  renamed.get('/scoped', { onRequest: renamed.needsScope('read') }, async () => 'scoped')
  renamed.get('/mfa', { onRequest: renamed.needsMfa }, async () => 'mfa')
  renamed.get('/peek', async (request) => await (request as RenamedRequest).verifyAccessToken())
  await app.ready()

  for (const name of ['authenticate', 'requireRole', 'requireScope', 'requireMfa', 'tokenAuth']) t.notOk(app.hasDecorator(name), `no app.${name}`)
  for (const name of ['user', 'verifyToken']) t.notOk(app.hasRequestDecorator(name), `no request.${name}`)
  const session = await login(app)
  const bearer = { authorization: `Bearer ${session.accessToken}` }
  t.equal((await app.inject({ url: '/me', headers: bearer })).json().sub, session.response.json().user.id)
  t.equal((await app.inject({ url: '/peek', headers: bearer })).json().sub, session.response.json().user.id)
  t.equal((await app.inject({ url: '/admin', headers: bearer })).statusCode, 200)
  const scoped = await app.inject({ url: '/scoped', headers: bearer })
  t.equal(scoped.statusCode, 403)
  t.equal(scoped.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(scoped.headers['www-authenticate'], /error="insufficient_scope"/)
  const mfa = await app.inject({ url: '/mfa', headers: bearer })
  t.equal(mfa.statusCode, 403, 'needsMfa guards: a password session has no second factor')
  t.equal(mfa.json().code, 'FST_TOKEN_AUTH_MFA_REQUIRED')
  t.ok(await renamed.tokens.verify(session.accessToken))

  const changed = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer, payload: { current_password: 'correct horse battery staple', new_password: 'another long passphrase here' } })
  t.equal(changed.statusCode, 200, 'password change reads the claims under the new name')
  const next = { authorization: `Bearer ${changed.json().access_token as string}` }
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout-all', headers: next })).statusCode, 204)
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: next })
  t.equal(logout.statusCode, 401, 'logout verifies the access token under the new name: revoked by logout-all')
  t.equal(logout.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(logout.headers['www-authenticate'], /error="invalid_token"/)
})

/** The error of ready() for an app set up by `setup`, which registers without awaiting, as apps do. */
async function readyError (t: Test, setup: (app: FastifyInstance) => void): Promise<unknown> {
  const app = await freshApp(t)
  try {
    setup(app)
    await app.ready()
  } catch (error) {
    return error
  }
  throw new Error('expected ready() to fail')
}

t.test('@fastify/jwt registered first makes ready() fail with a message that says to rename request.user', async (t) => {
  const error = await readyError(t, (app) => {
    app.register(fastifyJwt, { secret: JWT_SECRET })
    app.register(tokenAuth, { secret: SECRET })
  })
  t.match(error, {
    code: 'FST_TOKEN_AUTH_INVALID_OPTION',
    message: "request decorator 'user' already exists (another plugin such as @fastify/jwt added it): set decorators.user to another name"
  })
})

t.test('an app\'s own authenticate decorator makes ready() fail with a message that names decorators.authenticate', async (t) => {
  const error = await readyError(t, (app) => {
    app.decorate('authenticate', () => {})
    app.register(tokenAuth, { secret: SECRET })
  })
  t.match(error, {
    code: 'FST_TOKEN_AUTH_INVALID_OPTION',
    message: "instance decorator 'authenticate' already exists (another plugin or the application added it): set decorators.authenticate to another name"
  })
})

t.test('a name Fastify itself uses cannot be a decorator name', async (t) => {
  const error = await readyError(t, (app) => { app.register(tokenAuth, withNames({ secret: SECRET }, { user: 'headers' })) })
  t.match(error, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /request decorator 'headers' already exists .* set decorators.user to another name/ })
})

const badNames: Array<[string, unknown, RegExp]> = [
  ['not an object', 'principal', /decorators must be an object such as \{ user: 'principal' \}/],
  ['an array', ['principal'], /decorators must be an object/],
  ['null', null, /decorators must be an object/],
  ['an unknown decorator', { session: 'principal' }, /decorators.session is not one of user, verifyToken, authenticate, requireRole, requireScope, requireMfa, tokenAuth/],
  ['a name that is no identifier', { user: 'the-user' }, /decorators.user must be a JavaScript identifier such as 'principal'; got "the-user"/],
  ['a name that is not a string', { authenticate: 7 }, /decorators.authenticate must be a JavaScript identifier/],
  ['an empty name', { tokenAuth: '' }, /decorators.tokenAuth must be a JavaScript identifier/],
  ['one name for two decorators', { user: 'auth', tokenAuth: 'auth' }, /decorators.user and decorators.tokenAuth are both 'auth': each decorator needs its own name/],
  ['a new name equal to another default', { user: 'authenticate' }, /decorators.user and decorators.authenticate are both 'authenticate'/],
  ['then for a request decorator', { verifyToken: 'then' }, /decorators.verifyToken cannot be 'then': it would make every request a thenable$/],
  ['then for an app decorator', { tokenAuth: 'then' }, /decorators.tokenAuth cannot be 'then': it would make the app a thenable$/]
]

for (const [name, decorators, message] of badNames) {
  t.test(`registration fails for decorators with ${name}`, async (t) => {
    const error = await readyError(t, (app) => { app.register(tokenAuth, withNames({ secret: SECRET }, decorators as Record<string, unknown>)) })
    t.match(error, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message })
  })
}

t.test('a decorator name given as undefined keeps its default', async (t) => {
  const app = await freshApp(t)
  await app.register(tokenAuth, withNames({ secret: SECRET }, { user: undefined, tokenAuth: 'tokens' }))
  await app.ready()
  t.ok(app.hasRequestDecorator('user'))
  t.ok(app.hasDecorator('tokens'))
})
