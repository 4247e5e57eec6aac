import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { createMemoryStore, redactPaths, revocationFeed, type AuthStore, type RevocationFeedOptions, type TokenAuthOptions } from 'fastify-token-auth'
import { buildSessionApp, SECRET, storeWithAlice } from './helpers/app.js'
import { withNodeEnv } from './helpers/node-env.js'
import { login } from './helpers/session.js'

// The authenticated revocation feed resource servers poll: who may read it, what it answers.

const CREDENTIAL = 'Xq7vN2kR9pL4tW8yB3mZ6cD1sF5gJ0hA-uE_iO4oP8lQ2wYr'
const NEXT_CREDENTIAL = 'Lm3Kp9Qz2Wx7Rt5Yv8Nb1Hc4Jd6Fg0Sa-Te_Ui2Oo5Pq9Lw3E'
const URL_ = '/auth/revocations'

async function feedApp (t: Test, options: Partial<RevocationFeedOptions> = {}, store?: AuthStore, fastify: FastifyServerOptions = { logger: false }): Promise<{ app: FastifyInstance, store: AuthStore }> {
  return await buildSessionApp(t, {
    store,
    fastify,
    setup: (app) => { app.register(revocationFeed, { prefix: '/auth', credentials: [CREDENTIAL], ...options }) }
  })
}

const auth = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` })

/** Asserts a refusal's status, code and WWW-Authenticate challenge. */
function refused (t: Test, response: { statusCode: number, headers: Record<string, unknown>, json: () => any }, status: number, code: string, challenge: RegExp | undefined): void {
  t.equal(response.statusCode, status)
  t.equal(response.json().code, code)
  if (challenge === undefined) t.notOk(response.headers['www-authenticate'])
  else t.match(response.headers['www-authenticate'], challenge)
}

t.test('no Authorization header is a 401 with a bare Bearer challenge', async (t) => {
  const { app } = await feedApp(t)
  const response = await app.inject({ url: `${URL_}?after=0` })
  refused(t, response, 401, 'FST_TOKEN_AUTH_NO_TOKEN', /^Bearer realm="api"$/)
})

t.test('another scheme than Bearer is as good as no credential', async (t) => {
  const { app } = await feedApp(t)
  const response = await app.inject({ url: `${URL_}?after=0`, headers: { authorization: `Basic ${CREDENTIAL}` } })
  refused(t, response, 401, 'FST_TOKEN_AUTH_NO_TOKEN', /^Bearer realm="api"$/)
})

t.test('a wrong credential, an empty one, or one differing in its last character, is an unknown service credential', async (t) => {
  const { app } = await feedApp(t)
  for (const authorization of [`Bearer ${CREDENTIAL.slice(0, -1)}x`, `Bearer ${CREDENTIAL}x`, 'Bearer', 'Bearer ', `bearer ${NEXT_CREDENTIAL}`]) {
    const response = await app.inject({ url: `${URL_}?after=0`, headers: { authorization } })
    refused(t, response, 401, 'FST_TOKEN_AUTH_INVALID_TOKEN', /^Bearer realm="api", error="invalid_token", error_description="The access token is invalid: unknown service credential"$/)
  }
})

t.test('the scheme is case-insensitive and surrounding spaces are ignored', async (t) => {
  const { app } = await feedApp(t)
  const response = await app.inject({ url: `${URL_}?after=0`, headers: { authorization: `bEaReR  ${CREDENTIAL} ` } })
  t.equal(response.statusCode, 200)
})

t.test('a valid user access token does not open the feed', async (t) => {
  const { app } = await feedApp(t)
  const session = await login(app)
  const me = await app.inject({ url: '/me', headers: auth(session.accessToken) })
  t.equal(me.statusCode, 200, 'the token is valid')
  const response = await app.inject({ url: `${URL_}?after=0`, headers: auth(session.accessToken) })
  refused(t, response, 401, 'FST_TOKEN_AUTH_INVALID_TOKEN', /error="invalid_token"/)
  t.notMatch(response.payload, /revocations/)
})

t.test('a malformed query is a 400 invalid_request, checked only once the credential is good', async (t) => {
  const { app } = await feedApp(t)
  const bad = [
    '', '?after=', '?after=-1', '?after=1.5', '?after=01', '?after=1e3', '?after=abc', '?after=99999999999999999',
    '?after=1&after=2', '?after=5&before=5', '?after=5&before=4', '?after=5&before=x',
    '?after=0&limit=0', '?after=0&limit=1001', '?after=0&limit=ten', '?after=0&limit=-1',
    '?after=0&offset=3', '?after=0&afterId=1', '?after=0&%C3%A9%0D%0A=1'
  ]
  for (const query of bad) {
    const response = await app.inject({ url: `${URL_}${query}`, headers: auth(CREDENTIAL) })
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().code, 'FST_TOKEN_AUTH_INVALID_REQUEST', query)
    t.match(response.headers['www-authenticate'], /^Bearer realm="api", error="invalid_request"/, query)
  }
  const unauthenticated = await app.inject({ url: `${URL_}?after=-1` })
  t.equal(unauthenticated.statusCode, 401, 'no query detail for a caller without the credential')
})

t.test('after a logout the feed lists the session revocation, not to be cached', async (t) => {
  const { app } = await feedApp(t)
  const session = await login(app, { include_refresh_token: true })
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: auth(session.accessToken), payload: { refresh_token: session.refreshToken } })
  t.equal(logout.statusCode, 204)
  const response = await app.inject({ url: `${URL_}?after=0`, headers: auth(CREDENTIAL) })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store')
  const { revocations } = response.json()
  const sid = JSON.parse(Buffer.from(session.accessToken.split('.')[1], 'base64url').toString()).sid
  t.equal(revocations.length, 1)
  t.same(Object.keys(revocations[0]).sort(), ['createdAt', 'expiresAt', 'id', 'kind', 'subject', 'version'])
  t.match(revocations[0], { id: 1, kind: 'session', subject: sid, version: 0, expiresAt: Number, createdAt: Number })
  const later = await app.inject({ url: `${URL_}?after=1`, headers: auth(CREDENTIAL) })
  t.same(later.json(), { revocations: [] })
})

t.test('pages by after, before and limit, 500 rows by default', async (t) => {
  const store = await storeWithAlice()
  const now = Date.now() / 1000
  for (let i = 1; i <= 510; i++) await store.revocations.append({ kind: 'token', subject: `jti-${i}`, version: 0, expiresAt: now + 600 }, now)
  const { app } = await feedApp(t, {}, store)
  const ids = async (query: string): Promise<number[]> => {
    const response = await app.inject({ url: `${URL_}${query}`, headers: auth(CREDENTIAL) })
    t.equal(response.statusCode, 200, query)
    return response.json().revocations.map((row: { id: number }) => row.id)
  }
  t.same(await ids('?after=0&limit=3'), [1, 2, 3])
  t.same(await ids('?after=3&limit=2'), [4, 5])
  t.same(await ids('?after=3&before=6'), [4, 5])
  t.same(await ids('?after=3&before=100&limit=1'), [4])
  t.same(await ids('?after=505'), [506, 507, 508, 509, 510])
  t.same(await ids('?after=510&limit=1000'), [])
  const all = await ids('?after=0')
  t.equal(all.length, 500)
  t.equal(all[499], 500)
})

t.test('two credentials are both accepted while one replaces the other', async (t) => {
  const { app } = await feedApp(t, { credentials: [CREDENTIAL, NEXT_CREDENTIAL] })
  for (const credential of [CREDENTIAL, NEXT_CREDENTIAL]) {
    const response = await app.inject({ url: `${URL_}?after=0`, headers: auth(credential) })
    t.equal(response.statusCode, 200)
  }
  const wrong = await app.inject({ url: `${URL_}?after=0`, headers: auth(NEXT_CREDENTIAL.toLowerCase()) })
  t.equal(wrong.statusCode, 401)
})

t.test('a failing store is a 503 naming neither the error nor the credential', async (t) => {
  const store = await storeWithAlice()
  store.revocations.list = async () => { throw new Error(`connection to db.internal:5432 refused, password ${CREDENTIAL}`) }
  const { app } = await feedApp(t, {}, store)
  const response = await app.inject({ url: `${URL_}?after=0`, headers: auth(CREDENTIAL) })
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE')
  t.equal(response.headers['retry-after'], '1')
  t.notOk(response.headers['www-authenticate'])
  t.notMatch(response.payload, CREDENTIAL)
  t.notMatch(response.payload, /db\.internal|stack|at /)
})

t.test('the credential never reaches a log line, even with request headers logged', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const { app } = await feedApp(t, {}, undefined, {
    logger: {
      level: 'trace',
      stream,
      serializers: { req: (request) => ({ method: request.method, url: request.url, headers: request.headers }) },
      redact: [...redactPaths]
    }
  })
  await app.inject({ url: `${URL_}?after=0`, headers: auth(CREDENTIAL) })
  await app.inject({ url: `${URL_}?after=0`, headers: auth(`${CREDENTIAL}x`) })
  t.ok(lines.some((line) => line.includes('[Redacted]')), 'the Authorization header was logged, redacted')
  t.notOk(lines.some((line) => line.includes(CREDENTIAL)))
})

/** The error that registering the feed (after tokenAuth with `auth`, unless null) fails with. */
async function bootError (t: Test, feedOptions: unknown, auth: TokenAuthOptions | null = { secret: SECRET, store: createMemoryStore() }): Promise<Error & { code?: string }> {
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close().catch(() => {}) })
  try {
    if (auth !== null) await app.register(tokenAuth, auth)
    await app.register(revocationFeed, feedOptions as RevocationFeedOptions)
    await app.ready()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the registration to fail')
}

t.test('option mistakes fail registration with an InvalidOptionError', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['not an array', CREDENTIAL, /credentials must be a non-empty array of strings; got string/],
    ['missing', undefined, /credentials must be a non-empty array of strings; got undefined/],
    ['an empty array', [], /got an empty array/],
    ['an unset environment variable', [undefined], /credentials\[0\] must be a string/],
    ['too short', [CREDENTIAL, 'shortButRandom-9xQ2'], /credentials\[1\] must be at least 32 characters; got 19/],
    ['not header-safe', [`${CREDENTIAL} with spaces`], /credentials\[0\] must be letters, digits/]
  ]
  for (const [what, credentials, message] of cases) {
    const error = await bootError(t, { credentials })
    t.equal(error.code, 'FST_TOKEN_AUTH_INVALID_OPTION', what)
    t.match(error.message, message, what)
    t.notMatch(error.message, CREDENTIAL, what)
  }
})

t.test('an unknown option is refused with a suggestion', async (t) => {
  t.match(await bootError(t, { credentials: [CREDENTIAL], credential: CREDENTIAL }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /credential is not a revocationFeed option; did you mean credentials\?/ })
})

t.test('a guessable credential is refused outside tests, and accepted with a warning under NODE_ENV=test', async (t) => {
  const guessable = 'my-revocation-feed-credential-2024'
  t.test('refused', async (t) => {
    withNodeEnv(t, 'development')
    const error = await bootError(t, { credentials: [CREDENTIAL, guessable] })
    t.equal(error.code, 'FST_TOKEN_AUTH_INVALID_OPTION')
    t.match(error.message, /revocationFeed credentials\[1\] looks like words or a pattern/)
    t.notMatch(error.message, guessable)
  })
  t.test('accepted in tests, with a warning naming the option only', async (t) => {
    withNodeEnv(t, 'test')
    const lines: string[] = []
    const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
    const app = Fastify({ logger: { level: 'warn', stream } })
    t.teardown(async () => { await app.close() })
    await app.register(tokenAuth, { secret: SECRET, store: createMemoryStore() })
    await app.register(revocationFeed, { prefix: '/auth', credentials: [guessable] })
    await app.ready()
    const warning = lines.find((line) => line.includes('guessable'))
    t.match(warning, /revocationFeed credentials\[0\] is a guessable secret/)
    t.notMatch(warning, guessable)
    const response = await app.inject({ url: `${URL_}?after=0`, headers: auth(guessable) })
    t.equal(response.statusCode, 200)
  })
  t.test('tokenAuth\'s allowWeakSecret decides for the feed too', async (t) => {
    withNodeEnv(t, 'test')
    const error = await bootError(t, { credentials: [guessable] }, { secret: SECRET, store: createMemoryStore(), allowWeakSecret: false })
    t.match(error.message, /revocationFeed credentials\[0\] looks like words or a pattern/)
    withNodeEnv(t, 'development')
    const app = Fastify({ logger: false })
    t.teardown(async () => { await app.close() })
    await app.register(tokenAuth, { secret: SECRET, store: createMemoryStore(), allowWeakSecret: true })
    await app.register(revocationFeed, { prefix: '/auth', credentials: [guessable] })
    await app.ready()
    t.equal((await app.inject({ url: `${URL_}?after=0`, headers: auth(guessable) })).statusCode, 200)
  })
})

t.test('tokenAuth without a store, or no tokenAuth at all, fails registration', async (t) => {
  t.match(await bootError(t, { credentials: [CREDENTIAL] }, { secret: SECRET }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /revocationFeed needs tokenAuth registered before it, with a `store`/ })
  t.match(await bootError(t, { credentials: [CREDENTIAL] }, null), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /revocationFeed needs tokenAuth/ })
})
