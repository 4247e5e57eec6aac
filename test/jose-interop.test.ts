import * as jose from 'jose'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import t from 'tap'
import { systemClock } from '../lib/clock.js'
import { AccessTokens } from '../lib/tokens/access-tokens.js'
import type { Algorithm } from '../lib/tokens/algorithms.js'
import { createKeyRing, type KeyDefinition } from '../lib/tokens/key-ring.js'
import { isHighS, withOtherS } from './helpers/forge.js'

// Interoperability with jose, the reference JOSE implementation: every algorithm, both ways.

function keyFor (alg: Algorithm): { definition: KeyDefinition, signKey: jose.CryptoKey | Uint8Array | import('node:crypto').KeyObject, verifyKey: jose.CryptoKey | Uint8Array | import('node:crypto').KeyObject } {
  if (alg.startsWith('HS')) {
    const secret = randomBytes(Number(alg.slice(2)) / 8)
    return { definition: { kid: `k-${alg}`, alg, secret }, signKey: secret, verifyKey: secret }
  }
  const pair = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
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

for (const alg of ['HS256', 'HS384', 'HS512', 'EdDSA', 'ES256'] as const) {
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
    const accepted = alg === 'ES256' && isHighS(token.split('.')[2]) ? withOtherS(token) : token
    const claims = tokens.verify(accepted)
    t.equal(claims.sub, 'user-9')
    t.same((claims as { roles?: unknown }).roles, ['reader'])
    if (alg === 'ES256') t.throws(() => tokens.verify(withOtherS(accepted)), { message: /bad signature/ }, 'the high-S spelling is refused')
  })
}

t.test('jose verifies our EdDSA and ES256 tokens against the published JWKS', async (t) => {
  const ed = generateKeyPairSync('ed25519')
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ring = createKeyRing([{ privateKey: ec.privateKey }, { privateKey: ed.privateKey }])
  const jwks = jose.createLocalJWKSet(ring.jwks() as jose.JSONWebKeySet)
  const tokens = new AccessTokens({ ring, issuer: undefined, audience: undefined, ttlSeconds: 60, clockToleranceSeconds: 0, maxTokenLength: 4096, cacheSize: 0, maxTtlSeconds: 86400, clock: systemClock })
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.sign({ sub: 'u' }).token, jwks)
  t.equal(payload.sub, 'u')
  t.equal(protectedHeader.alg, 'ES256')
  t.equal(protectedHeader.kid, ring.keys[0].kid)
})
