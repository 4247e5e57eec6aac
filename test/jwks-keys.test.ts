import { generateKeyPairSync } from 'node:crypto'
import { SignJWT } from 'jose'
import t from 'tap'
import { RemoteFetchError } from '../lib/remote/fetch-json.js'
import { keysFromJwks } from '../lib/remote/jwks-keys.js'
import type { Algorithm } from '../lib/tokens/algorithms.js'
import type { RingKey } from '../lib/tokens/key-ring.js'
import { isHighS, withOtherS } from './helpers/forge.js'
import { generateIssuerKey, type IssuerKey } from './helpers/local-issuer.js'

// A JWKS document becomes the keys we verify with: odd, unsafe or ambiguous entries are skipped, one by one.

const ALL: readonly Algorithm[] = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const read = (keys: unknown[], algorithms: readonly Algorithm[] = ALL, maxKeys = 20): ReturnType<typeof keysFromJwks> =>
  keysFromJwks({ keys }, { algorithms, maxKeys, name: 'https://idp.example' })

/** Whether `key` verifies a real token the issuer key signed with jose. */
async function verifiesTokenOf (key: RingKey, issuerKey: IssuerKey): Promise<boolean> {
  const token = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: issuerKey.alg, kid: issuerKey.kid }).sign(issuerKey.privateKey)
  const [header, payload, signature] = token.split('.')
  return key.verify(`${header}.${payload}`, signature)
}

t.test('a document that is not a key set, or has too many entries, is refused whole', async (t) => {
  for (const document of [null, 'keys', [], {}, { keys: {} }, { keys: 'none' }]) {
    t.throws(() => keysFromJwks(document, { algorithms: ALL, maxKeys: 5, name: 'idp' }), RemoteFetchError, JSON.stringify(document))
  }
  const keys = Array.from({ length: 6 }, () => generateIssuerKey('EdDSA').jwk)
  t.throws(() => read(keys, ALL, 5), { name: 'RemoteFetchError', message: /6 keys, more than the limit of 5/ })
  t.equal(read(keys, ALL, 6).keys.length, 6, 'exactly the limit is fine')
})

t.test('every asymmetric key type is read, and verifies tokens its issuer signs with jose', async (t) => {
  for (const alg of ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256', 'RS512', 'PS256', 'PS384'] as const) {
    const issuerKey = generateIssuerKey(alg)
    const { keys, skipped } = read([issuerKey.jwk])
    t.same(skipped, [], alg)
    t.equal(keys[0].kid, issuerKey.kid)
    t.equal(keys[0].alg, alg)
    t.equal(keys[0].canSign, false, 'a public key only')
    t.ok(await verifiesTokenOf(keys[0], issuerKey), `${alg} verifies`)
  }
})

t.test('without alg, the algorithm is read from the key, and must be one accepted', async (t) => {
  const cases: Array<[IssuerKey, readonly Algorithm[], Algorithm]> = [
    [generateIssuerKey('EdDSA'), ALL, 'EdDSA'],
    [generateIssuerKey('ES256'), ALL, 'ES256'],
    [generateIssuerKey('ES384'), ALL, 'ES384'],
    [generateIssuerKey('ES512'), ALL, 'ES512'],
    [generateIssuerKey('RS256'), ['EdDSA', 'PS384', 'RS256'], 'PS384'],
    [generateIssuerKey('RS256'), ['RS512'], 'RS512']
  ]
  for (const [issuerKey, algorithms, expected] of cases) {
    const { alg: _alg, ...jwk } = issuerKey.jwk
    t.equal(read([jwk], algorithms).keys[0]?.alg, expected, `${String(jwk.kty)} ${String(jwk.crv ?? '')} with ${algorithms.join(',')}`)
  }
  const unfit: Array<[Record<string, unknown>, readonly Algorithm[], RegExp]> = [
    [generateIssuerKey('RS256').jwk, ['EdDSA', 'ES256'], /none of EdDSA, ES256 fits a "RSA" key/],
    [generateIssuerKey('ES384').jwk, ['ES256'], /fits a "EC" key on "P-384"/],
    [generateIssuerKey('EdDSA').jwk, ['RS256'], /fits a "OKP" key on "Ed25519"/],
    [{ kty: 'EC', crv: 5, x: 'AA', y: 'AA', kid: 'odd-curve' }, ALL, /fits a "EC" key$/],
    [{ kty: 'XYZ', kid: 'odd-type' }, ALL, /fits a "XYZ" key/]
  ]
  for (const [{ alg: _alg, ...jwk }, algorithms, reason] of unfit) {
    const { keys, skipped } = read([jwk], algorithms)
    t.same(keys, [])
    t.match(skipped, [{ kid: jwk.kid, reason }], String(reason))
  }
})

t.test('an alg the issuer is not trusted for is skipped, even when the key would fit it', async (t) => {
  const rsa = generateIssuerKey('RS256')
  t.match(read([rsa.jwk], ['PS256']).skipped, [{ kid: rsa.kid, reason: /alg "RS256" is not accepted from this issuer \(accepted: PS256\)/ }])
  t.match(read([{ ...rsa.jwk, alg: 'none' }]).skipped, [{ reason: /alg "none" is not accepted/ }])
  t.match(read([{ ...rsa.jwk, alg: 'HS256' }]).skipped, [{ reason: /alg "HS256" is not accepted/ }])
  t.match(read([{ ...rsa.jwk, alg: ['RS256'] }]).skipped, [{ reason: /alg an array is not accepted/ }])
})

t.test('symmetric keys are never taken from a network document', async (t) => {
  const { keys, skipped } = read([{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', kid: 'shared', alg: 'HS256' }], [...ALL, 'HS256'])
  t.same(keys, [])
  t.same(skipped, [{ kid: 'shared', reason: 'a symmetric (oct) key is never taken from a network document' }])
})

t.test('keys for encryption, or not allowed to verify, are skipped', async (t) => {
  const key = generateIssuerKey('ES256')
  t.match(read([{ ...key.jwk, use: 'enc' }]).skipped, [{ kid: key.kid, reason: 'use is "enc", not "sig"' }])
  t.match(read([{ ...key.jwk, key_ops: ['encrypt'] }]).skipped, [{ kid: key.kid, reason: 'key_ops does not include "verify"' }])
  t.match(read([{ ...key.jwk, key_ops: 'verify' }]).skipped, [{ reason: 'key_ops does not include "verify"' }], 'key_ops must be an array')
  t.equal(read([{ ...key.jwk, key_ops: ['sign', 'verify'] }]).keys.length, 1, 'verify among others')
  const { use: _use, ...withoutUse } = key.jwk
  t.equal(read([withoutUse]).keys.length, 1, 'no use at all')
})

t.test('entries that are not objects or have no string kid are skipped', async (t) => {
  const key = generateIssuerKey('EdDSA')
  const { kid: _kid, ...withoutKid } = key.jwk
  const { keys, skipped } = read([null, 5, 'key', [key.jwk], withoutKid, { ...key.jwk, kid: 7 }, key.jwk])
  t.equal(keys.length, 1, 'the good entry still counts')
  t.same(skipped, [
    { kid: undefined, reason: 'the entry is not a JSON object' },
    { kid: undefined, reason: 'the entry is not a JSON object' },
    { kid: undefined, reason: 'the entry is not a JSON object' },
    { kid: undefined, reason: 'the entry is not a JSON object' },
    { kid: undefined, reason: 'kid is missing or not a string' },
    { kid: undefined, reason: 'kid is missing or not a string' }
  ])
})

t.test('keys that do not fit their alg, or are unsafe, are skipped with the reason', async (t) => {
  const rsa = generateIssuerKey('RS256')
  t.match(read([{ ...rsa.jwk, alg: 'EdDSA' }]).skipped, [{ kid: rsa.kid, reason: /is an RSA key of 2048 bits, which cannot be used for EdDSA/ }], 'an RSA key under EdDSA')
  t.match(read([{ ...generateIssuerKey('ES256').jwk, alg: 'ES384' }]).skipped, [{ reason: /EC P-256 key, which cannot be used for ES384/ }], 'a curve mismatch')
  const small = generateIssuerKey('RS256', { rsaBits: 1024 })
  t.match(read([small.jwk]).skipped, [{ kid: small.kid, reason: /RS256 needs at least 2048 bits/ }], 'RSA 1024')
  t.match(read([{ ...rsa.jwk, e: 'Aw' }]).skipped, [{ reason: /public exponent 3/ }], 'e = 3')
  t.match(read([{ kty: 'EC', crv: 'P-256', x: 'AAAA', kid: 'broken', alg: 'ES256' }]).skipped, [{ kid: 'broken', reason: /not a usable public key/ }], 'a point missing y')
  t.match(read([{ kty: 'XYZ', kid: 'odd', alg: 'ES256' }]).skipped, [{ kid: 'odd', reason: /not a usable public key/ }], 'an unknown kty')
  t.match(read([{ ...rsa.jwk, kid: '' }]).skipped, [{ kid: '', reason: /kid must be a non-empty string/ }], 'an empty kid')
  const longKid = 'k'.repeat(500)
  const skipped = read([{ ...rsa.jwk, kid: longKid }]).skipped
  t.equal(skipped[0].kid, 'k'.repeat(128), 'a long kid is cut in the report')
  t.notMatch(skipped[0].reason, /^fastify-token-auth/, 'the reason reads as a sentence about the key')
})

t.test('no reason ever holds key material', async (t) => {
  const rsa = generateIssuerKey('RS256', { rsaBits: 1024 })
  const privateJwk = rsa.privateKey.export({ format: 'jwk' })
  const { skipped } = read([{ ...privateJwk, kid: rsa.kid, alg: 'EdDSA' }, { ...privateJwk, kid: 'small' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'o' }])
  t.equal(skipped.length, 3)
  const text = JSON.stringify(skipped)
  for (const value of [privateJwk.n, privateJwk.d, privateJwk.p, 'c2VjcmV0']) t.notOk(text.includes(value as string))
})

t.test('private members are never imported; the published public key still verifies', async (t) => {
  for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
    const issuerKey = generateIssuerKey(alg)
    const { keys, skipped } = read([{ ...issuerKey.privateKey.export({ format: 'jwk' }), kid: issuerKey.kid, alg, x5c: ['not a certificate'], x5t: 'nothing' }])
    t.same(skipped, [])
    t.equal(keys[0].canSign, false, `${alg}: cannot sign`)
    t.notOk(JSON.stringify(keys[0].publicJwk).includes('"d"'), `${alg}: no d`)
    t.ok(await verifiesTokenOf(keys[0], issuerKey), `${alg} verifies`)
  }
})

t.test('a kid held by two usable keys is ambiguous: neither is used', async (t) => {
  const first = generateIssuerKey('EdDSA', { kid: 'same' })
  const second = generateIssuerKey('ES256', { kid: 'same' })
  const other = generateIssuerKey('EdDSA')
  const { keys, skipped } = read([first.jwk, other.jwk, second.jwk])
  t.same(keys.map((key) => key.kid), [other.kid])
  t.same(skipped, [{ kid: 'same', reason: '2 usable keys have this kid; none is used' }, { kid: 'same', reason: '2 usable keys have this kid; none is used' }])
  const encryption = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid: 'same', use: 'enc' }
  const shared = read([encryption, first.jwk])
  t.same(shared.keys.map((key) => key.kid), ['same'], 'an encryption key sharing the kid makes nothing ambiguous')
  t.match(shared.skipped, [{ kid: 'same', reason: /use is "enc"/ }])
})

t.test("an issuer's ECDSA signatures verify with either s, as other signers pick either", async (t) => {
  for (const alg of ['ES256', 'ES384', 'ES512'] as const) {
    const issuerKey = generateIssuerKey(alg)
    const [key] = read([issuerKey.jwk]).keys
    const token = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg, kid: issuerKey.kid }).sign(issuerKey.privateKey)
    for (const spelling of [token, withOtherS(token)]) {
      const [header, payload, signature] = spelling.split('.')
      t.ok(key.verify(`${header}.${payload}`, signature), `${alg} ${isHighS(signature) ? 'high' : 'low'} S`)
    }
  }
})
