import * as jose from 'jose'
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import t from 'tap'
import { systemClock } from '../lib/clock.js'
import { AccessTokens } from '../lib/tokens/access-tokens.js'
import { ALGORITHMS, type Algorithm } from '../lib/tokens/algorithms.js'
import { createKeyRing, KeyRing, type KeyDefinition } from '../lib/tokens/key-ring.js'
import { buildApp } from './helpers/app.js'
import { bearer, isHighS, withOtherS } from './helpers/forge.js'

// Interoperability with jose, the reference JOSE implementation: every algorithm, both ways.

// Key pairs made once per file (RSA generation is slow); RS* and PS* share one RSA key.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pairs = {
  EdDSA: generateKeyPairSync('ed25519'),
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ES512: generateKeyPairSync('ec', { namedCurve: 'P-521' })
}

type JoseKey = jose.CryptoKey | Uint8Array | KeyObject

function keyFor (alg: Algorithm): { definition: KeyDefinition, signKey: JoseKey, verifyKey: JoseKey } {
  if (alg.startsWith('HS')) {
    const secret = randomBytes(Number(alg.slice(2)) / 8)
    return { definition: { kid: `k-${alg}`, alg, secret }, signKey: secret, verifyKey: secret }
  }
  const pair = alg in pairs ? pairs[alg as keyof typeof pairs] : rsa
  return { definition: { kid: `k-${alg}`, alg, privateKey: pair.privateKey }, signKey: pair.privateKey, verifyKey: pair.publicKey }
}

function accessTokens (definition: KeyDefinition): AccessTokens {
  return new AccessTokens({
    ring: createKeyRing([definition]),
    issuer: 'https://issuer.example',
    audience: 'api',
    ttlSeconds: 600,
    clockToleranceSeconds: 0,
    maxTokenLength: 4096,
    cacheSize: 0,
    maxTtlSeconds: 86400,
    clock: systemClock
  })
}

for (const alg of ALGORITHMS) {
  const ecdsa = alg.startsWith('ES')
  t.test(`${alg}: a token we sign verifies in jose`, async (t) => {
    const { definition, verifyKey } = keyFor(alg)
    const { token } = accessTokens(definition).sign({ sub: 'user-7', roles: ['admin'] })
    const { payload, protectedHeader } = await jose.jwtVerify(token, verifyKey, {
      algorithms: [alg], typ: 'at+jwt', issuer: 'https://issuer.example', audience: 'api', requiredClaims: ['jti', 'iat', 'exp', 'sub']
    })
    t.same(protectedHeader, { alg, typ: 'at+jwt', kid: `k-${alg}` })
    t.equal(payload.sub, 'user-7')
    t.same(payload.roles, ['admin'])
  })

  t.test(`${alg}: a token jose signs verifies here`, async (t) => {
    const { definition, signKey } = keyFor(alg)
    const token = await new jose.SignJWT({ roles: ['reader'] })
      .setProtectedHeader({ alg, typ: 'at+jwt', kid: `k-${alg}` })
      .setSubject('user-9').setJti('jti-1').setIssuedAt().setExpirationTime('5m')
      .setIssuer('https://issuer.example').setAudience('api')
      .sign(signKey)
    const tokens = accessTokens(definition)
    // jose (node:crypto) leaves ECDSA's s as it comes; only its low-S spelling is accepted here.
    const accepted = ecdsa && isHighS(token.split('.')[2]) ? withOtherS(token) : token
    const claims = tokens.verify(accepted)
    t.equal(claims.sub, 'user-9')
    const app = await buildApp(t, { auth: { keys: [definition], issuer: 'https://issuer.example', audience: 'api' } })
    const res = await app.inject({ url: '/me', headers: bearer(accepted) })
    t.equal(res.statusCode, 200, 'accepted over HTTP by a protected route')
    t.equal(res.json().sub, 'user-9')
    t.same((claims as { roles?: unknown }).roles, ['reader'])
    if (ecdsa) t.throws(() => tokens.verify(withOtherS(accepted)), { message: /bad signature/ }, 'the high-S spelling is refused')
  })
}

t.test('jose verifies tokens of every asymmetric algorithm against the published JWKS', async (t) => {
  const definitions: KeyDefinition[] = ALGORITHMS.filter((alg) => !alg.startsWith('HS')).map((alg) => ({ ...keyFor(alg).definition, kid: undefined }))
  // One RSA key per RSA algorithm: a key has exactly one algorithm, so kids must differ.
  const ring = createKeyRing(definitions.map((definition, index) => definition.alg?.startsWith('RS') === true || definition.alg?.startsWith('PS') === true ? { ...definition, kid: `rsa-${index}` } : definition))
  const jwks = jose.createLocalJWKSet(ring.jwks() as jose.JSONWebKeySet)
  for (const key of ring.keys) {
    const tokens = new AccessTokens({ ring: new KeyRing([key]), issuer: undefined, audience: undefined, ttlSeconds: 60, clockToleranceSeconds: 0, maxTokenLength: 4096, cacheSize: 0, maxTtlSeconds: 86400, clock: systemClock })
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.sign({ sub: 'u' }).token, jwks)
    t.equal(payload.sub, 'u', key.alg)
    t.same([protectedHeader.alg, protectedHeader.kid], [key.alg, key.kid])
  }
  const thumbprints = await Promise.all(ring.jwks().keys.filter((jwk) => jwk.kty !== 'RSA').map(async (jwk) => await jose.calculateJwkThumbprint(jwk as jose.JWK)))
  t.same(ring.keys.filter((key) => !key.kid.startsWith('rsa-')).map((key) => key.kid), thumbprints.map((thumbprint) => thumbprint.slice(0, 16)), 'default kids are the RFC 7638 thumbprint as jose computes it')
  const rsaKid = createKeyRing([{ publicKey: rsa.publicKey }]).keys[0].kid
  t.equal(rsaKid, (await jose.calculateJwkThumbprint(rsa.publicKey.export({ format: 'jwk' }) as jose.JWK)).slice(0, 16), 'RSA keys too')
})
