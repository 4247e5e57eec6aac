import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { buildApp } from './helpers/app.js'
import { bearer } from './helpers/forge.js'

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
  await t.rejects(app.tokenAuth.sign({ sub: '42' }, { expiresIn: 'soon' }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
})

t.test('sign refuses a missing sub and claims the signer owns', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.tokenAuth.sign({ sub: '' }), TypeError)
  await t.rejects(app.tokenAuth.sign(null as unknown as { sub: string }), TypeError)
  for (const name of ['exp', 'iat', 'iss', 'aud', 'nbf', 'jti']) {
    await t.rejects(app.tokenAuth.sign({ sub: '1', [name]: 1 }), { message: new RegExp(`claims.${name} is set by the signer`) })
  }
})

t.test('sign refuses claims whose JSON would not carry their own sub', async (t) => {
  const app = await buildApp(t)
  const message = /claims must be a plain object with its own enumerable sub/
  await t.rejects(app.tokenAuth.sign({ sub: '1', toJSON: () => ({}) }), { message })
  await t.rejects(app.tokenAuth.sign(Object.create({ sub: '1' })), { message })
  await t.rejects(app.tokenAuth.sign(Object.defineProperty({}, 'sub', { value: '1', enumerable: false }) as { sub: string }), { message })
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

t.test('session methods need a user store', async (t) => {
  const app = await buildApp(t)
  await t.rejects(app.tokenAuth.refreshSession('x'), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /need a `userStore`/ })
  await t.rejects(app.tokenAuth.logoutEverywhere('x'), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
  t.equal(app.tokenAuth.userStore, undefined)
  t.equal(app.tokenAuth.realm, 'api')
})
