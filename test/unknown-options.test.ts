import Fastify from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { createAuthCore, createMemoryStore, loginRoutes, type TokenAuthOptions } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { closestKey } from '../lib/options/known-keys.js'
import { buildApp, SECRET } from './helpers/app.js'
import { ACCESS_HEADER, bearer, claims, forge } from './helpers/forge.js'

// A misspelt option is refused at registration, by the path the user wrote and with the
// option they probably meant, instead of being ignored while its default applies.

async function bootError (t: Test, options: unknown, routes?: unknown): Promise<Error> {
  const app = Fastify()
  t.teardown(async () => { await app.close().catch(() => {}) })
  const failure = await (async () => {
    await app.register(tokenAuth, options as TokenAuthOptions)
    if (routes !== undefined) await app.register(loginRoutes, routes as object)
    await app.ready()
  })().then(() => undefined, (error: unknown) => error as Error)
  if (failure === undefined) throw new Error('expected the registration to fail')
  return failure
}

/** The option error, with its whole message (a suggestion where none is expected fails). */
const refused = (message: string): { code: string, message: RegExp } =>
  ({ code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: new RegExp(`^fastify-token-auth: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })

const tokenAuthCases: Array<[string, Record<string, unknown>, string]> = [
  ['a misspelt top-level option', { audiance: 'x' }, 'audiance is not an option; did you mean audience?'],
  ['a top-level option in the wrong case', { accessTokenTTL: '5m' }, 'accessTokenTTL is not an option; did you mean accessTokenTtl?'],
  ['a misspelt plugin option', { trasport: { header: true } }, 'trasport is not an option; did you mean transport?'],
  ['a name close to nothing', { userStore: {} }, 'userStore is not an option'],
  ['session.refreshTokenTTL', { session: { refreshTokenTTL: '1d' } }, 'session.refreshTokenTTL is not an option; did you mean session.refreshTokenTtl?'],
  ['passwords.bcryptRounds', { passwords: { bcryptRounds: 12 } }, 'passwords.bcryptRounds is not an option'],
  ['throttle.maxAccountFailure', { throttle: { maxAccountFailure: 3 } }, 'throttle.maxAccountFailure is not an option; did you mean throttle.maxAccountFailures?'],
  ['login.maxInflightPerAccount', { login: { maxInflightPerAccount: 3 } }, 'login.maxInflightPerAccount is not an option; did you mean login.maxInFlightPerAccount?'],
  ['revocation.syncIntrval', { revocation: { syncIntrval: '1s' } }, 'revocation.syncIntrval is not an option; did you mean revocation.syncInterval?'],
  ['transport.cookies', { transport: { cookies: false } }, 'transport.cookies is not an option; did you mean transport.cookie?'],
  ['cookie.samesite', { cookie: { samesite: 'lax' } }, 'cookie.samesite is not an option; did you mean cookie.sameSite?'],
  ['csrf.allowedOrigin', { csrf: { allowedOrigin: ['https://a.example'] } }, 'csrf.allowedOrigin is not an option; did you mean csrf.allowedOrigins?'],
  ['a nested options object that is not an object', { session: 'long' }, 'session must be an object'],
  ['a nested options object that is an array', { cookie: [] }, 'cookie must be an object']
]

for (const [name, options, message] of tokenAuthCases) {
  t.test(`tokenAuth refuses ${name}`, async (t) => {
    t.match(await bootError(t, { secret: SECRET, ...options }), refused(message))
  })
}

t.test('tokenAuth refuses a misspelt option of a key in the ring, by its index', async (t) => {
  const keys = [{ secret: SECRET, kid: 'new' }, { secret: SECRET, kdi: 'old' }]
  t.match(await bootError(t, { keys }), refused('keys[1].kdi is not an option; did you mean keys[1].kid?'))
})

t.test('tokenAuth takes every option it documents, allowWeakSecret and decorators, and what register leaves in its options', async (t) => {
  const app = await buildApp(t, {
    auth: {
      issuer: 'i',
      audience: 'a',
      accessTokenTtl: '15m',
      maxTokenTtl: '1d',
      clockTolerance: 5,
      maxTokenLength: 4096,
      verifiedTokenCacheSize: 10,
      realm: 'api',
      store: createMemoryStore(),
      claims: () => ({}),
      clientAddress: (request) => request.ip,
      throttle: { maxAccountFailures: 5, maxAddressFailures: 50, window: '15m', lockout: '30s', maxLockout: '15m' },
      login: { maxInFlightPerAccount: 2, maxInFlightPerAddress: 8 },
      transport: { header: true, cookie: true, prefer: undefined },
      cookie: { sameSite: 'strict', secure: true, accessTokenName: '__Host-a', csrfName: '__Host-c', refreshTokenName: '__Secure-r', deviceName: '__Secure-d' },
      csrf: { headerName: 'x-csrf-token', allowedOrigins: ['https://app.example'], secret: SECRET },
      session: { refreshTokenTtl: '14d', maxAge: '30d', reuseGrace: '5s', perSessionPerMinute: 30, perAddressPerMinute: 300 },
      revocation: { syncInterval: '250ms', maxStaleness: '1s', pruneInterval: '1m' },
      ...{ prefix: '/ignored', logLevel: 'warn', logSerializers: {} }
    }
  })
  t.equal(app.tokenAuth.realm, 'api')
  // Options of their own elsewhere; here only that their names are not refused.
  const other = Fastify()
  t.teardown(async () => { await other.close() })
  await other.register(tokenAuth, { secret: SECRET, ...{ allowWeakSecret: false, decorators: undefined } })
  await t.resolves(async () => { await other.ready() }, 'allowWeakSecret and decorators are options')
})

t.test('createAuthCore refuses unknown names too, and the plugin\'s own options, which it does not take', async (t) => {
  t.throws(() => createAuthCore({ secret: SECRET, issuer: 'i', isuer: 'i' } as never), refused('isuer is not an option; did you mean issuer?'))
  t.throws(() => createAuthCore({ secret: SECRET, realm: 'api' } as never), refused('realm is not an option'))
  t.throws(() => createAuthCore(null as never), refused('the options must be an object'))
})

t.test('loginRoutes refuses a misspelt option, and takes prefix, logLevel and logSerializers from register', async (t) => {
  const store = createMemoryStore()
  t.match(await bootError(t, { secret: SECRET, store }, { publicuser: () => ({}) }), refused('publicuser is not a loginRoutes option; did you mean publicUser?'))
  t.match(await bootError(t, { secret: SECRET, store }, { onLoginFail: () => {} }), refused('onLoginFail is not a loginRoutes option; did you mean onLoginFailure?'))
  t.match(await bootError(t, { secret: SECRET, store }, { audit: () => {} }), refused('audit is not a loginRoutes option'))
  const app = await buildApp(t, { auth: { store }, routes: { ...{ logLevel: 'warn', logSerializers: {} }, publicUser: (user) => ({ id: user.id, username: user.username }), onLoginSuccess () {}, onLoginFailure () {} } })
  t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'nobody', password: 'wrong password' } })).statusCode, 401, 'registered under its prefix')
})

t.test('createMemoryStore refuses a misspelt option', async (t) => {
  t.throws(() => createMemoryStore({ profileField: ['team'] } as never), refused('profileField is not a createMemoryStore option; did you mean profileFields?'))
  t.throws(() => createMemoryStore(null as never), refused('createMemoryStore options must be an object'))
  t.same(createMemoryStore({ profileFields: ['team'] }).profileFields, ['team'])
})

t.test('createKnexStore refuses a misspelt option', async (t) => {
  const knex = Object.assign(() => {}, { client: {} }) as never
  t.throws(() => createKnexStore({ knex, tablePrefx: 'app_' } as never), refused('tablePrefx is not a createKnexStore option; did you mean tablePrefix?'))
  t.throws(() => createKnexStore({ knex, profileColumns: [], readTimeOut: '1s' } as never), refused('readTimeOut is not a createKnexStore option; did you mean readTimeout?'))
  t.ok(createKnexStore({ knex, tablePrefix: 'app_', profileColumns: [], migrationLockTimeout: '30s', readTimeout: '5s', notify: true }), 'every documented option is taken')
})

t.test('sign() refuses a misspelt option: a TypeError, as for a bad expiresIn', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.tokenAuth.sign({ sub: '1' }, { expiresin: '5m' } as never), new TypeError('fastify-token-auth: expiresin is not a sign() option; did you mean expiresIn?'))
  await t.rejects(app.tokenAuth.sign({ sub: '1' }, null as never), new TypeError('fastify-token-auth: sign() options must be an object'))
})

t.test('suggestions: one slip per three letters, case aside, the closest first', async (t) => {
  const known = ['audience', 'issuer', 'alg', 'kid', 'maxAge', 'maxAgeSeconds']
  t.equal(closestKey('audiance', known), 'audience')
  t.equal(closestKey('AUDIENCE', known), 'audience')
  t.equal(closestKey('isseur', known), 'issuer', 'a swap of neighbours is one slip')
  t.equal(closestKey('kdi', known), 'kid')
  t.equal(closestKey('key', known), undefined, 'two slips in three letters is another word')
  t.equal(closestKey('maxage', known), 'maxAge')
  t.equal(closestKey('somethingElse', known), undefined)
})

t.test('options an application reads through a class\'s getters are taken, not dropped: an inherited audience is checked over HTTP', async (t) => {
  class AuthConfig {
    get secret (): string { return SECRET }
    get audience (): string { return 'https://api.example' }
  }
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, new AuthConfig() as TokenAuthOptions)
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  const otherAudience = await app.inject({ url: '/me', headers: bearer(forge(ACCESS_HEADER, claims({ aud: 'https://elsewhere.example' }))) })
  t.equal(otherAudience.statusCode, 401)
  t.match(otherAudience.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/)
  t.equal(otherAudience.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  const own = await app.inject({ url: '/me', headers: bearer(forge(ACCESS_HEADER, claims({ aud: 'https://api.example' }))) })
  t.equal(own.statusCode, 200)
})

t.test('options made from a defaults object keep the inherited ones', async (t) => {
  const defaults = { audience: 'https://api.example', accessTokenTtl: '5m' }
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, Object.assign(Object.create(defaults) as TokenAuthOptions, { secret: SECRET }))
  await app.ready()
  const payload = JSON.parse(Buffer.from((await app.tokenAuth.sign({ sub: 'user-1' })).split('.')[1], 'base64url').toString())
  t.equal(payload.aud, 'https://api.example')
  t.equal(payload.exp - payload.iat, 300)
})
