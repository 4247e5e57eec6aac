import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { systemClock } from '../lib/clock.js'
import { createKeyRing } from '../lib/tokens/key-ring.js'
import { JwtSigner } from '../lib/tokens/jwt-signer.js'
import { SECRET, buildApp, buildSessionApp } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { cookiesOf } from './helpers/session.js'

// app.tokenAuth: sign and verify outside requests, and the JWKS document.

function decode (token: string, part: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[part], 'base64url').toString())
}

t.test('sign writes the registered claims: iss, aud, iat, exp from accessTokenTtl, a unique jti', async (t) => {
  const app = await buildApp(t, { auth: { issuer: 'my-api', audience: 'my-api', accessTokenTtl: '10m' } })
  const first = decode(await app.tokenAuth.sign({ sub: '42', roles: ['admin'] }), 1)
  const second = decode(await app.tokenAuth.sign({ sub: '42' }), 1)
  t.match(first, { iss: 'my-api', aud: 'my-api', sub: '42', roles: ['admin'] })
  t.equal((first.exp as number) - (first.iat as number), 600)
  t.type(first.jti, 'string')
  t.not(first.jti, second.jti)
})

t.test('sign takes expiresIn per token and writes the access-token header', async (t) => {
  const app = await buildApp(t)
  const token = await app.tokenAuth.sign({ sub: '42' }, { expiresIn: 30 })
  const payload = decode(token, 1)
  t.equal((payload.exp as number) - (payload.iat as number), 30)
  t.same(Object.keys(decode(token, 0)), ['alg', 'typ', 'kid'])
  t.match(decode(token, 0), { alg: 'HS256', typ: 'at+jwt' })
  await t.rejects(app.tokenAuth.sign({ sub: '42' }, { expiresIn: 'soon' }), { name: 'TypeError', message: /expiresIn must be/ })
})

t.test('sign refuses a missing sub and claims the signer owns', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.tokenAuth.sign({ sub: '' }), TypeError)
  await t.rejects(app.tokenAuth.sign(null as unknown as { sub: string }), TypeError)
  for (const name of ['exp', 'iat', 'iss', 'aud', 'nbf', 'jti']) {
    await t.rejects(app.tokenAuth.sign({ sub: '1', [name]: 1 }), { message: new RegExp(`claims.${name} is set by the signer`) })
  }
})

t.test('sign refuses sid and ver: only the session service ties a token to a session', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.tokenAuth.sign({ sub: '1', sid: 'family-1' }), new TypeError('claims.sid is set only by the session service'))
  await t.rejects(app.tokenAuth.sign({ sub: '1', ver: 0 }), new TypeError('claims.ver is set only by the session service'))
  await t.rejects(app.tokenAuth.sign({ sub: '1', sid: undefined }), TypeError, 'even present but undefined')
})

t.test('sign refuses a lifetime longer than the longest allowed, and names the limit', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.tokenAuth.sign({ sub: '1' }, { expiresIn: '2d' }), new TypeError('the token lifetime (172800 s) is longer than the longest allowed, 86400 s (maxTtlSeconds)'))
  const token = await app.tokenAuth.sign({ sub: '1' }, { expiresIn: '1d' })
  const payload = decode(token, 1)
  t.equal((payload.exp as number) - (payload.iat as number), 86400, 'the limit itself is allowed')
})

t.test('sign refuses claims without a sub of their own, or with a toJSON of their own', async (t) => {
  const app = await buildApp(t)
  const noSub = /claims.sub must be a non-empty string/
  await t.rejects(app.tokenAuth.sign(Object.create({ sub: '1' })), { message: noSub })
  await t.rejects(app.tokenAuth.sign(Object.defineProperty({}, 'sub', { value: '1', enumerable: false }) as { sub: string }), { message: noSub })
  await t.rejects(app.tokenAuth.sign({ sub: '1', toJSON: () => ({ sub: '2' }) }), { message: /claims must be plain data, without toJSON/ })
})

t.test('what sign checked is what it signs: getters and toJSON cannot change the claims afterwards', async (t) => {
  const app = await buildApp(t, { auth: { issuer: 'my-api' } })
  let reads = 0
  const sneaky: Record<string, unknown> = { sub: 'u1' }
  Object.defineProperty(sneaky, 'toJSON', { enumerable: false, get () { if (++reads > 1) sneaky.iss = 'evil' } })
  t.equal((await app.tokenAuth.verify(await app.tokenAuth.sign(sneaky as { sub: string }))).iss, 'my-api')

  const loud: Record<string, unknown> = { sub: 'u1' }
  Object.defineProperty(loud, 'toJSON', { enumerable: true, get () { loud.iss = 'evil'; return undefined } })
  t.equal((await app.tokenAuth.verify(await app.tokenAuth.sign(loud as { sub: string }))).iss, 'my-api')

  const vanishing: Record<string, unknown> = { nested: { toJSON () { delete vanishing.sub; return 1 } }, sub: 'u1' }
  const claims = await app.tokenAuth.verify(await app.tokenAuth.sign(vanishing as { sub: string }))
  t.match(claims, { sub: 'u1', nested: 1, iss: 'my-api' })
})

t.test('arrays and boxed strings are signed as their own enumerable data, in well-formed JSON', async (t) => {
  const app = await buildApp(t)
  t.match(await app.tokenAuth.verify(await app.tokenAuth.sign(Object.assign(['x'], { sub: '1' }) as unknown as { sub: string })), { 0: 'x', sub: '1' })
  t.match(await app.tokenAuth.verify(await app.tokenAuth.sign(Object.assign(Object('ab') as object, { sub: '1' }) as { sub: string })), { 0: 'a', 1: 'b', sub: '1' })
})

t.test('the signer refuses a lifetime that is not a finite number of seconds', async (t) => {
  const signer = new JwtSigner(createKeyRing([{ secret: SECRET }]), { issuer: undefined, audience: undefined, ttlSeconds: 60, typ: 'at+jwt' }, systemClock)
  t.throws(() => signer.sign({ sub: '1' }, Number.NaN), { message: /finite number of seconds/ })
  t.throws(() => signer.sign({ sub: '1' }, 60, Number.POSITIVE_INFINITY), { message: /finite number of seconds/ })
  t.ok(signer.sign({ sub: '1' }, 60).token)
})

t.test('signing mistakes made by the calling code are TypeErrors, never configuration errors', async (t) => {
  const { publicKey } = generateKeyPairSync('ed25519')
  const verifyOnly = new JwtSigner(createKeyRing([{ publicKey }]), { issuer: undefined, audience: undefined, ttlSeconds: 60, typ: 'at+jwt' }, systemClock)
  t.throws(() => verifyOnly.sign({ sub: '1' }), new TypeError('the first key has no private key, so this service cannot sign tokens'), 'a ring whose first key cannot sign')
  const signer = new JwtSigner(createKeyRing([{ secret: SECRET }]), { issuer: undefined, audience: undefined, ttlSeconds: 60, typ: 'at+jwt' }, systemClock)
  for (const [name, claims] of [['null', null], ['a string', 'sub'], ['no sub', {}], ['a signer-owned claim', { sub: '1', exp: 1 }]] as const) {
    t.throws(() => signer.sign(claims as unknown as { sub: string }), TypeError, name)
  }
})

t.test('large claims are signed and verified whole', async (t) => {
  const app = await buildApp(t, { auth: { maxTokenLength: 16384 } })
  const note = 'é'.repeat(5800)
  const claims = await app.tokenAuth.verify(await app.tokenAuth.sign({ sub: '1', note }))
  t.equal((claims as { note?: string }).note, note)
})

t.test('a __proto__ claim stays a plain claim and never becomes a prototype', async (t) => {
  const app = await buildApp(t)
  const input = JSON.parse('{"sub":"1","__proto__":{"roles":["admin"]}}')
  const token = await app.tokenAuth.sign(input)
  const res = await app.inject({ url: '/admin', headers: bearer(token) })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(res.headers['www-authenticate'], /insufficient_scope/)
})

t.test('verify checks a token outside a request and returns frozen claims', async (t) => {
  const app = await buildApp(t)
  const claims = await app.tokenAuth.verify(await app.tokenAuth.sign({ sub: '7', roles: ['a'] }))
  t.equal(claims.sub, '7')
  t.ok(Object.isFrozen(claims) && Object.isFrozen((claims as { roles?: unknown }).roles), 'claims are shared through the cache, so they are frozen')
  await t.rejects(app.tokenAuth.verify('not-a-token'), { code: 'FST_TOKEN_AUTH_INVALID_TOKEN' })
  await t.rejects(app.tokenAuth.verify(42 as unknown as string), { code: 'FST_TOKEN_AUTH_INVALID_TOKEN' })
})

t.test('jwks publishes the public keys of the ring, and nothing for an HMAC-only ring', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const app = await buildApp(t, { auth: { keys: [{ kid: 'es', privateKey }] } })
  t.match(app.tokenAuth.jwks(), { keys: [{ kid: 'es', alg: 'ES256', kty: 'EC', crv: 'P-256', use: 'sig' }] })
  const hmac = await buildApp(t)
  t.same(hmac.tokenAuth.jwks(), { keys: [] })
})

t.test('an expiresIn that is no duration is a TypeError naming it', async (t) => {
  const app = await buildApp(t)
  for (const expiresIn of ['forever', -5, Number.NaN]) {
    await t.rejects(app.tokenAuth.sign({ sub: 'u1' }, { expiresIn }), { name: 'TypeError', message: /expiresIn must be/ }, String(expiresIn))
  }
})

t.test('session and account methods without a store are a programming error: TypeError', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.tokenAuth.refreshSession('x'), { name: 'TypeError', message: /need a `store`/ })
  await t.rejects(app.tokenAuth.logoutEverywhere('x'), { name: 'TypeError' })
  t.throws(() => app.tokenAuth.accounts, { name: 'TypeError' })
  t.equal(app.tokenAuth.realm, 'api')
})

t.test('an application\'s own sign-in (SSO, magic link) starts, refreshes and ends sessions through the API, with the same cookies', async (t) => {
  const { app } = await buildSessionApp(t, {
    setup (app) {
      // A made-up external sign-in: the application vouches for the user itself.
      app.post('/sso', async (request, reply) => {
        const user = await app.tokenAuth.accounts.findUserByUsername('alice')
        const session = await app.tokenAuth.startSession(user as NonNullable<typeof user>)
        app.tokenAuth.setSessionCookies(reply, session, '/auth')
        return { sessionId: session.sessionId }
      })
      app.post('/sso/out', async (_request, reply) => {
        app.tokenAuth.clearSessionCookies(reply, '/auth')
        return { ok: true }
      })
    }
  })
  const signedIn = await app.inject({ method: 'POST', url: '/sso' })
  const cookies = cookiesOf(signedIn)
  t.same(Object.keys(cookies).sort(), ['__Host-access-token', '__Host-csrf-token', '__Secure-refresh-token'])
  t.equal(cookies['__Host-csrf-token'], app.tokenAuth.csrfTokenFor(signedIn.json().sessionId), 'the CSRF cookie is bound to the new session')
  const me = await app.inject({ url: '/me', headers: { cookie: `__Host-access-token=${cookies['__Host-access-token']}` } })
  t.equal(me.json().sid, signedIn.json().sessionId)
  const rotated = await app.tokenAuth.refreshSession(cookies['__Secure-refresh-token'])
  t.equal(rotated.sessionId, signedIn.json().sessionId, 'the same session, a new pair')
  t.equal(await app.tokenAuth.endSession(await app.tokenAuth.verify(rotated.accessToken)), true)
  await t.rejects(app.tokenAuth.verify(rotated.accessToken), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
  await t.rejects(app.tokenAuth.refreshSession(rotated.refreshToken), { code: 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN' })
  t.same(Object.values(cookiesOf(await app.inject({ method: 'POST', url: '/sso/out' }))), ['', '', ''], 'all three cleared')
  const other = await app.tokenAuth.startSession((await app.tokenAuth.accounts.findUserByUsername('alice')) as NonNullable<Awaited<ReturnType<typeof app.tokenAuth.accounts.findUserByUsername>>>)
  await app.tokenAuth.logoutEverywhere(other.user.id)
  await t.rejects(app.tokenAuth.verify(other.accessToken), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
})

t.test('logout with a token that has no session revokes the token itself, by its jti', async (t) => {
  const { app, store } = await buildSessionApp(t)
  const token = await app.tokenAuth.sign({ sub: 'service-account' })
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })
  t.equal(res.statusCode, 204)
  const revoked = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(revoked.statusCode, 401)
  t.equal(revoked.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(revoked.headers['www-authenticate'], /error="invalid_token"/)
  t.match(await store.revocations.list({ afterId: 0 }), [{ kind: 'token', subject: String, version: 0 }], 'one token revocation, for every instance')
})
