import { randomUUID, sign, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import t from 'tap'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { generateIssuerKey, startLocalIssuer, type IssuerAlgorithm } from './helpers/local-issuer.js'
import { accessToken, API_AUDIENCE, assertRefused, buildResourceServer, issuerOptions } from './helpers/resource-server.js'

// A service that only verifies: configured with an issuer's JWKS URL, against a real
// issuer on 127.0.0.1 that rotates keys, floods, goes down and publishes hostile keys.
// Every refusal is checked as a client sees it: status, code and WWW-Authenticate.

/** An RS256 signature over any header and claims, by node:crypto. */
function rsaSigned (header: object, claims: object, privateKey: KeyObject): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

const settle = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 50)) }

const ALGORITHMS: IssuerAlgorithm[] = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

t.test('configured with only a JWKS URL, a resource server verifies its issuer\'s tokens of every algorithm with one fetch', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: ALGORITHMS.map((alg) => generateIssuerKey(alg)) })
  const app = await buildResourceServer(t, [issuerOptions(issuer)])
  t.equal(issuer.requests, 1, 'fetched once at startup')
  for (const key of issuer.keys) {
    const res = await app.inject({ url: '/me', headers: bearer(await accessToken(issuer, { sub: `user-${key.alg}` }, { kid: key.kid })) })
    t.equal(res.statusCode, 200, key.alg)
    t.equal(res.json().sub, `user-${key.alg}`)
  }
  t.equal(issuer.requests, 1, 'no fetch on the request path for known kids')
})

t.test('a key rotation is picked up without a restart, and a withdrawn key stops verifying, cached tokens included', async (t) => {
  const clock = new TestClock()
  const issuer = await startLocalIssuer(t)
  const app = await buildResourceServer(t, [issuerOptions(issuer)], { clock })
  const old = await accessToken(issuer)
  t.equal((await app.inject({ url: '/me', headers: bearer(old) })).statusCode, 200, 'the old key verifies (and the token is cached)')
  const { added } = issuer.rotate()
  clock.advance(31_000)
  const fresh = await app.inject({ url: '/me', headers: bearer(await accessToken(issuer, {}, { kid: added.kid })) })
  t.equal(fresh.statusCode, 200, 'the new kid made the resource server fetch the JWKS again')
  t.equal(issuer.requests, 2)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(old) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown signing key/ })
})

t.test('200 concurrent requests with random kids cause one fetch per cooldown, and each is refused', async (t) => {
  const clock = new TestClock()
  const issuer = await startLocalIssuer(t)
  const app = await buildResourceServer(t, [issuerOptions(issuer)], { clock })
  const attacker = generateIssuerKey('EdDSA')
  const flood = async (): Promise<void> => {
    const answers = await Promise.all(Array.from({ length: 200 }, async () => {
      const token = await new SignJWT({ iss: issuer.issuer, sub: 'x', aud: API_AUDIENCE, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: randomUUID() }).sign(attacker.privateKey)
      return await app.inject({ url: '/me', headers: bearer(token) })
    }))
    for (const res of answers.slice(0, 3)) assertRefused(t, res, { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown signing key/ })
    t.ok(answers.every((res) => res.statusCode === 401), 'all 200 refused')
  }
  clock.advance(31_000)
  await flood()
  t.equal(issuer.requests, 2, 'one fetch for the whole flood')
  await flood()
  t.equal(issuer.requests, 2, 'none within the cooldown')
  clock.advance(31_000)
  await flood()
  t.equal(issuer.requests, 3, 'one more after the cooldown')
  t.equal((await app.inject({ url: '/me', headers: bearer(await accessToken(issuer)) })).statusCode, 200, 'the issuer\'s own tokens still verify')
})

t.test('with the issuer down, keys stay in use for the stale window, then its tokens answer 503 with Retry-After until it is back', async (t) => {
  const clock = new TestClock()
  const issuer = await startLocalIssuer(t)
  const app = await buildResourceServer(t, [issuerOptions(issuer, { jwks: { url: issuer.jwksUrl.href, minAge: '1m', maxAge: '1m', staleWindow: '5m', cooldown: '30s' } })], { clock })
  const token = await accessToken(issuer, {}, { expiresIn: 3600 })
  issuer.setStatus(500)
  clock.advance(2 * 60_000)
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'past its age, within the stale window')
  await settle()
  t.equal(issuer.requests, 2, 'a refresh was tried in the background')
  clock.advance(5 * 60_000)
  const down = await app.inject({ url: '/me', headers: bearer(token) })
  assertRefused(t, down, { status: 503, code: 'FST_TOKEN_AUTH_KEYS_UNAVAILABLE' })
  t.ok(Number(down.headers['retry-after']) >= 1, 'Retry-After')
  issuer.setStatus(200)
  clock.advance(31_000)
  await app.inject({ url: '/me', headers: bearer(token) })
  await settle()
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'back once a fetch succeeded')
})

t.test('an issuer unreachable from the start: the server starts, and its tokens answer 503, never 200', async (t) => {
  for (const breakIssuer of [
    (issuer: Awaited<ReturnType<typeof startLocalIssuer>>) => { issuer.setBody('{"keys": [') },
    (issuer: Awaited<ReturnType<typeof startLocalIssuer>>) => { issuer.setBody(JSON.stringify({ keys: Array.from({ length: 3000 }, () => issuer.keys[0].jwk) })) },
    (issuer: Awaited<ReturnType<typeof startLocalIssuer>>) => { issuer.setStatus(404) },
    (issuer: Awaited<ReturnType<typeof startLocalIssuer>>) => { issuer.hang() }
  ]) {
    const issuer = await startLocalIssuer(t)
    breakIssuer(issuer)
    const app = await buildResourceServer(t, [issuerOptions(issuer, { jwks: { url: issuer.jwksUrl.href, timeout: '200ms' } })])
    const res = await app.inject({ url: '/me', headers: bearer(await accessToken(issuer)) })
    assertRefused(t, res, { status: 503, code: 'FST_TOKEN_AUTH_KEYS_UNAVAILABLE' })
    t.ok(Number(res.headers['retry-after']) >= 1)
  }
})

t.test('hostile JWKS entries are not taken: an RSA key under an EdDSA alg, RSA 1024, a symmetric key, an encryption key', async (t) => {
  const issuer = await startLocalIssuer(t)
  const rsaAsEdDSA = generateIssuerKey('RS256')
  rsaAsEdDSA.jwk = { ...rsaAsEdDSA.jwk, alg: 'EdDSA' }
  const weak = generateIssuerKey('RS256', { rsaBits: 1024 })
  const encryption = generateIssuerKey('RS256')
  encryption.jwk = { ...encryption.jwk, use: 'enc' }
  for (const key of [rsaAsEdDSA, weak, encryption]) issuer.addKey(key)
  issuer.addEntry({ kty: 'oct', kid: 'hmac', alg: 'HS256', k: Buffer.from('x'.repeat(32)).toString('base64url') })
  const app = await buildResourceServer(t, [issuerOptions(issuer)])
  for (const key of [rsaAsEdDSA, weak, encryption]) {
    for (const alg of key === rsaAsEdDSA ? ['RS256', 'EdDSA'] : ['RS256']) {
      // Signed with node:crypto: jose itself refuses to sign with an RSA key under 2048 bits.
      const token = rsaSigned({ alg, typ: 'at+jwt', kid: key.kid }, { iss: issuer.issuer, sub: 'x', aud: API_AUDIENCE, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 }, key.privateKey)
      assertRefused(t, await app.inject({ url: '/me', headers: bearer(token) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown signing key/ })
    }
  }
  // An HMAC token under the published symmetric key: the key was never taken.
  const hmac = await new SignJWT({ iss: issuer.issuer, sub: 'x', aud: API_AUDIENCE, jti: 'j', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'hmac' }).sign(Buffer.from('x'.repeat(32)))
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(hmac) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown signing key/ })
  t.equal((await app.inject({ url: '/me', headers: bearer(await accessToken(issuer)) })).statusCode, 200, 'the good key still verifies')
})

t.test('the key decides the algorithm: a token whose alg disagrees with its key, or alg none, is refused', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: [generateIssuerKey('RS256')] })
  const app = await buildResourceServer(t, [issuerOptions(issuer)])
  const key = issuer.keys[0]
  const pss = await accessToken(issuer, {}, { kid: key.kid, alg: 'PS256' })
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(pss) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /algorithm does not match the key/ })
  const [, payload] = (await accessToken(issuer)).split('.')
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: key.kid })).toString('base64url')}.${payload}.`
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(none) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN' })
  const embedded = await new SignJWT({ iss: issuer.issuer, sub: 'x', aud: API_AUDIENCE, jti: 'j', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', jwk: key.jwk as any }).sign(key.privateKey)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(embedded) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /header parameter jwk is not accepted/ })
})

t.test('issuer-bound key sets: a token claiming issuer A signed with issuer B\'s key is refused, even under A\'s kid', async (t) => {
  const a = await startLocalIssuer(t)
  const b = await startLocalIssuer(t)
  const app = await buildResourceServer(t, [issuerOptions(a), issuerOptions(b)])
  t.equal((await app.inject({ url: '/me', headers: bearer(await accessToken(a)) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(await accessToken(b)) })).statusCode, 200)
  const bKey = b.keys[0]
  const claimsOfA = { iss: a.issuer, sub: 'x', aud: API_AUDIENCE, jti: 'j', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 }
  const underBKid = await new SignJWT(claimsOfA).setProtectedHeader({ alg: bKey.alg, typ: 'at+jwt', kid: bKey.kid }).sign(bKey.privateKey)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(underBKid) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown signing key/ })
  const underAKid = await new SignJWT(claimsOfA).setProtectedHeader({ alg: bKey.alg, typ: 'at+jwt', kid: a.keys[0].kid }).sign(bKey.privateKey)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(underAKid) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /bad signature/ })
  const stranger = await new SignJWT({ ...claimsOfA, iss: 'https://elsewhere.example' }).setProtectedHeader({ alg: bKey.alg, typ: 'at+jwt', kid: bKey.kid }).sign(bKey.privateKey)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(stranger) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown issuer/ })
})

t.test('the RFC 9068 default: a token without typ at+jwt, jti or the API\'s audience is refused, and an expired one too', async (t) => {
  const issuer = await startLocalIssuer(t)
  const app = await buildResourceServer(t, [issuerOptions(issuer)])
  const cases: Array<[string, Promise<string>, RegExp, string?]> = [
    ['typ JWT', issuer.sign({ sub: 'x', aud: API_AUDIENCE, jti: 'j' }), /wrong token type/],
    ['no jti', issuer.sign({ sub: 'x', aud: API_AUDIENCE }, { typ: 'at+jwt' }), /jti claim missing/],
    ['another audience', accessToken(issuer, { aud: 'billing-api' }), /wrong audience/],
    ['no audience', accessToken(issuer, { aud: undefined }), /aud claim missing/],
    ['expired', accessToken(issuer, {}, { expiresIn: -60 }), /expired/, 'FST_TOKEN_AUTH_TOKEN_EXPIRED']
  ]
  for (const [name, token, description, code] of cases) {
    const res = await app.inject({ url: '/me', headers: bearer(await token) })
    t.test(name, async (t) => { assertRefused(t, res, { status: 401, code: code ?? 'FST_TOKEN_AUTH_INVALID_TOKEN', description }) })
  }
})

t.test('a service with keys of its own and issuers accepts both, each with its own keys', async (t) => {
  const issuer = await startLocalIssuer(t)
  const secret = 'Wm0uI6Q7aPq3vZb9Yt2Xr8Ln5Kc1Ds4Fg7Hj0Se3Ua6O'
  const app = await buildResourceServer(t, [issuerOptions(issuer)], { auth: { secret, issuer: 'self', audience: API_AUDIENCE } })
  t.equal((await app.inject({ url: '/me', headers: bearer(await accessToken(issuer)) })).statusCode, 200, 'the issuer\'s token')
  t.equal((await app.inject({ url: '/me', headers: bearer(await app.tokenAuth.sign({ sub: 'me' })) })).statusCode, 200, 'its own token')
  t.equal((await app.tokenAuth.verify(await accessToken(issuer, { sub: 'via-verify' }))).sub, 'via-verify', 'app.tokenAuth.verify takes both')
})

t.test('by cookie, a POST with another issuer\'s token that names no session is refused by the CSRF check', async (t) => {
  const issuer = await startLocalIssuer(t)
  const csrfSecret = 'Hc4Rt8Wq1Zm6Xv0Nb3Lk7Jp2Gs5Df9Ua1Oe4Iy8Tm2Qw'
  const app = await buildResourceServer(t, [issuerOptions(issuer, { profile: { requiredClaims: ['sub'] } })], { auth: { transport: { cookie: true }, csrf: { secret: csrfSecret } } })
  const token = await issuer.sign({ sub: 'x', aud: API_AUDIENCE }, { typ: 'at+jwt' })
  const cookie = `__Host-access-token=${token}`
  t.equal((await app.inject({ url: '/me', headers: { cookie } })).statusCode, 200, 'a safe request by cookie passes')
  const forged = app.tokenAuth.csrfTokenFor('undefined')
  const post = await app.inject({ method: 'POST', url: '/me', headers: { cookie, 'x-csrf-token': forged } })
  assertRefused(t, post, { status: 403, code: 'FST_TOKEN_AUTH_CSRF', description: /names no session/ })
})

t.test('algorithms narrows what an issuer\'s JWKS may offer: an ES256 key is not taken when only RS256 is allowed', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: [generateIssuerKey('RS256'), generateIssuerKey('ES256')] })
  const app = await buildResourceServer(t, [issuerOptions(issuer, { algorithms: ['RS256'] })])
  t.equal((await app.inject({ url: '/me', headers: bearer(await accessToken(issuer, {}, { kid: issuer.keys[0].kid })) })).statusCode, 200)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(await accessToken(issuer, {}, { kid: issuer.keys[1].kid })) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown signing key/ })
})

t.test('with the verified-token cache off, every request is verified in full, and revoked or withdrawn keys still apply', async (t) => {
  const clock = new TestClock()
  const issuer = await startLocalIssuer(t)
  const app = await buildResourceServer(t, [issuerOptions(issuer)], { clock, auth: { verifiedTokenCacheSize: 0 } })
  const token = await accessToken(issuer)
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
  const { added } = issuer.rotate()
  clock.advance(31_000)
  t.equal((await app.inject({ url: '/me', headers: bearer(await accessToken(issuer, {}, { kid: added.kid })) })).statusCode, 200, 'the new key, fetched')
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(token) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /unknown signing key/ })
  await t.rejects(app.tokenAuth.verify(42 as unknown as string), { code: 'FST_TOKEN_AUTH_INVALID_TOKEN', message: /not a string/ })
})

t.test('beside issuers, a token whose iss is not a string goes to the service\'s own keys, which refuse it', async (t) => {
  const issuer = await startLocalIssuer(t)
  const secret = 'Wm0uI6Q7aPq3vZb9Yt2Xr8Ln5Kc1Ds4Fg7Hj0Se3Ua6O'
  const app = await buildResourceServer(t, [issuerOptions(issuer)], { auth: { secret, audience: API_AUDIENCE } })
  const own = await app.tokenAuth.sign({ sub: 'me' })
  t.equal((await app.inject({ url: '/me', headers: bearer(own) })).statusCode, 200, 'no iss at all: its own')
  const key = issuer.keys[0]
  const odd = await new SignJWT({ iss: [issuer.issuer] as unknown as string, sub: 'x', aud: API_AUDIENCE, jti: 'j', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 })
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid }).sign(key.privateKey)
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(odd) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN' })
})
