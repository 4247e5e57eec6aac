import { createSecretKey, generateKeyPairSync, randomBytes, verify as cryptoVerify, type KeyPairKeyObjectResult, type RSAPSSKeyPairKeyObjectOptions } from 'node:crypto'
import t, { type Test } from 'tap'
import { createKeyRing, createRingKey, KeyRing } from '../lib/tokens/key-ring.js'
import { isHighS, withOtherS } from './helpers/forge.js'

// Key configuration mistakes are refused when the key ring is built, with a message saying what to do.

const randomSecret = (bytes = 32): Buffer => randomBytes(bytes)

function refuses (t: Test, build: () => unknown, message: RegExp, name: string): void {
  t.throws(build, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message }, name)
}

t.test('HMAC secrets shorter than the hash, empty, or not random are refused', async (t) => {
  refuses(t, () => createRingKey({ secret: '' }, 'secret'), /at least 32 bytes/, 'empty')
  refuses(t, () => createRingKey({ secret: 'short-secret' }, 'secret'), /at least 32 bytes for HS256; got 12/, 'short')
  refuses(t, () => createRingKey({ secret: randomSecret(40), alg: 'HS384' }, 'secret'), /at least 48 bytes for HS384/, 'HS384 needs 48')
  refuses(t, () => createRingKey({ secret: randomSecret(48), alg: 'HS512' }, 'secret'), /at least 64 bytes for HS512/, 'HS512 needs 64')
  refuses(t, () => createRingKey({ secret: 'x'.repeat(64) }, 'secret'), /looks like words or a pattern/, 'a repeated character')
  refuses(t, () => createRingKey({ secret: 42 as unknown as string }, 'secret'), /must be a string, a Buffer or a secret KeyObject/, 'a number')
})

t.test('PEM and JWK key material is refused as an HMAC secret (algorithm confusion)', async (t) => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string
  refuses(t, () => createRingKey({ secret: pem }, 'secret'), /looks like PEM, DER or JWK/, 'a PEM public key')
  refuses(t, () => createRingKey({ secret: Buffer.from(pem) }, 'secret'), /looks like PEM, DER or JWK/, 'a PEM public key in a Buffer')
  refuses(t, () => createRingKey({ secret: JSON.stringify(publicKey.export({ format: 'jwk' })) }, 'secret'), /looks like PEM, DER or JWK/, 'a JWK as JSON text')
  refuses(t, () => createRingKey({ secret: publicKey as unknown as string }, 'secret'), /must be a secret key, not a public key/, 'a public KeyObject')
  t.ok(createRingKey({ secret: `{${randomSecret(40).toString('hex')}` }, 's'), 'text that merely starts with a brace is fine')
  t.ok(createRingKey({ secret: createSecretKey(randomSecret()) }, 's'), 'a secret KeyObject is fine')
})

t.test('a key binds exactly one algorithm, and the key type must fit it', async (t) => {
  const ed = generateKeyPairSync('ed25519')
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  refuses(t, () => createRingKey({ alg: 'none' as 'HS256', secret: randomSecret() }, 'k'), /must be one of HS256, HS384, HS512, EdDSA, ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512; got "none"/, 'alg none')
  refuses(t, () => createRingKey({ alg: 'RS1' as 'HS256', secret: randomSecret() }, 'k'), /must be one of/, 'an unsupported alg')
  refuses(t, () => createRingKey({ alg: 'RS256', secret: randomSecret() }, 'k'), /k.alg is RS256, which needs a privateKey or publicKey/, 'RS256 with a secret')
  refuses(t, () => createRingKey({ secret: randomSecret(), privateKey: ed.privateKey }, 'k'), /both a secret and a private\/public key/, 'secret and key')
  refuses(t, () => createRingKey({}, 'k'), /needs a secret/, 'nothing')
  refuses(t, () => createRingKey({ alg: 'HS256', privateKey: ed.privateKey }, 'k'), /HS256, which needs a secret/, 'HS256 with a private key')
  refuses(t, () => createRingKey({ alg: 'EdDSA', secret: randomSecret() }, 'k'), /both|needs a privateKey/, 'EdDSA with a secret')
  refuses(t, () => createRingKey({ alg: 'EdDSA', privateKey: ec.privateKey }, 'k'), /: k is an EC P-256 key, which cannot be used for EdDSA \(EdDSA needs an Ed25519 key\)$/, 'EdDSA with a P-256 key')
  refuses(t, () => createRingKey({ alg: 'ES256', privateKey: ed.privateKey }, 'k'), /: k is an Ed25519 key, which cannot be used for ES256 \(ES256 needs an EC P-256 key\)$/, 'ES256 with an Ed25519 key')
  refuses(t, () => createRingKey({ alg: 'ES256', privateKey: p384.privateKey }, 'k'), /: k is an EC P-384 key, which cannot be used for ES256 \(ES256 needs an EC P-256 key\)$/, 'ES256 with a P-384 key')
  refuses(t, () => createRingKey({ privateKey: ed.publicKey }, 'k'), /privateKey is not a usable private key \(it is a public key\)/, 'a public key as privateKey')
  refuses(t, () => createRingKey({ publicKey: ed.privateKey }, 'k'), /publicKey is not a usable public key/, 'a private KeyObject as publicKey')
  refuses(t, () => createRingKey({ privateKey: 'not a pem' }, 'k'), /not a usable private key/, 'garbage PEM')
  refuses(t, () => createRingKey({ publicKey: { kty: 'OKP' } }, 'k'), /not a usable public key/, 'a broken JWK')
  refuses(t, () => createRingKey({ privateKey: ed.privateKey, publicKey: generateKeyPairSync('ed25519').publicKey }, 'k'), /publicKey does not belong to k.privateKey/, 'a mismatched pair')
  refuses(t, () => createRingKey({ kid: '', secret: randomSecret() }, 'k'), /kid must be a non-empty string/, 'an empty kid')
  refuses(t, () => createRingKey({ kid: 'x'.repeat(129), secret: randomSecret() }, 'k'), /at most 128/, 'a long kid')
  refuses(t, () => createRingKey(null as unknown as object, 'k'), /must be an object/, 'null')
})

// Made once for the file: RSA key generation is slow.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
// A restricted RSA-PSS key pair. @types/node types saltLength as a string; node:crypto takes a number of bytes.
const restrictedPss = (hashAlgorithm: string, mgf1HashAlgorithm: string, saltLength?: number): KeyPairKeyObjectResult =>
  generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm, mgf1HashAlgorithm, saltLength } as unknown as RSAPSSKeyPairKeyObjectOptions)
const pss384 = restrictedPss('sha384', 'sha384', 48)
const pss512 = restrictedPss('sha512', 'sha512', 64)
const curves = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as const

t.test('the algorithm is inferred from the key: RS256 for RSA, PS256 (or its restricted hash) for RSA-PSS, ES* by curve', async (t) => {
  t.equal(createRingKey({ privateKey: rsa.privateKey }, 'k').alg, 'RS256', 'RSA: RS256, the conventional choice')
  t.equal(createRingKey({ publicKey: rsa.publicKey.export({ format: 'jwk' }) }, 'k').alg, 'RS256', 'an RSA JWK')
  t.equal(createRingKey({ privateKey: pss.privateKey }, 'k').alg, 'PS256', 'an unrestricted RSA-PSS key: PS256')
  t.equal(createRingKey({ privateKey: pss384.privateKey }, 'k').alg, 'PS384', 'an RSA-PSS key restricted to SHA-384')
  t.equal(createRingKey({ publicKey: pss512.publicKey }, 'k').alg, 'PS512', 'an RSA-PSS key restricted to SHA-512')
  for (const [alg, namedCurve] of Object.entries(curves)) {
    t.equal(createRingKey({ privateKey: generateKeyPairSync('ec', { namedCurve }).privateKey }, 'k').alg, alg, `${namedCurve}: ${alg}`)
  }
  for (const alg of ['RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const) {
    t.equal(createRingKey({ alg, privateKey: rsa.privateKey }, 'k').alg, alg, `a plain RSA key may be stated as ${alg}`)
  }
  t.equal(createRingKey({ alg: 'PS384', privateKey: pss.privateKey }, 'k').alg, 'PS384', 'an unrestricted RSA-PSS key serves any PS hash')
})

t.test('RSA keys under 2048 bits and keys that do not fit the stated alg are refused, naming the key', async (t) => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  refuses(t, () => createRingKey({ privateKey: rsa1024.privateKey }, 'keys[1]'), /: keys\[1\] is an RSA key of 1024 bits; RS256 needs at least 2048 bits/, 'RSA 1024, inferred')
  refuses(t, () => createRingKey({ alg: 'PS512', publicKey: rsa1024.publicKey }, 'keys[0]'), /: keys\[0\] is an RSA key of 1024 bits; PS512 needs at least 2048 bits/, 'RSA 1024, stated')
  refuses(t, () => createRingKey({ publicKey: rsa1024.publicKey.export({ format: 'jwk' }) }, 'k'), /1024 bits; RS256 needs at least 2048/, 'RSA 1024 as JWK')
  refuses(t, () => createRingKey({ alg: 'ES384', privateKey: p256.privateKey }, 'k'), /: k is an EC P-256 key, which cannot be used for ES384 \(ES384 needs an EC P-384 key\)$/, 'ES384 with a P-256 key')
  refuses(t, () => createRingKey({ alg: 'ES512', publicKey: p256.publicKey }, 'k'), /EC P-256 key, which cannot be used for ES512 \(ES512 needs an EC P-521 key\)/, 'ES512 with a P-256 key')
  refuses(t, () => createRingKey({ alg: 'RS256', privateKey: p256.privateKey }, 'k'), /: k is an EC P-256 key, which cannot be used for RS256 \(RS256 needs an RSA key of at least 2048 bits\)$/, 'RS256 with an EC key')
  refuses(t, () => createRingKey({ alg: 'ES256', privateKey: rsa.privateKey }, 'k'), /: k is an RSA key of 2048 bits, which cannot be used for ES256 \(ES256 needs an EC P-256 key\)$/, 'ES256 with an RSA key: the message names the RSA key')
  refuses(t, () => createRingKey({ alg: 'RS256', privateKey: pss.privateKey }, 'k'), /: k is an RSA-PSS key of 2048 bits, which cannot be used for RS256 \(RS256 needs an RSA key of at least 2048 bits\)$/, 'an RSA-PSS key stated as RS256')
  refuses(t, () => createRingKey({ alg: 'PS256', privateKey: pss384.privateKey }, 'k'), /: k is an RSA-PSS key of 2048 bits restricted to sha384, which cannot be used for PS256 \(PS256 needs an RSA or RSA-PSS key of at least 2048 bits\)$/, 'an RSA-PSS key restricted to another hash')
  const longSalt = restrictedPss('sha256', 'sha256', 64)
  refuses(t, () => createRingKey({ privateKey: longSalt.privateKey }, 'k'), /cannot be used for PS256/, 'an RSA-PSS key demanding a longer salt than JWS uses')
  const mgfOther = restrictedPss('sha256', 'sha512')
  refuses(t, () => createRingKey({ privateKey: mgfOther.privateKey }, 'k'), /cannot be used for PS256/, 'an RSA-PSS key with another MGF1 hash')
  refuses(t, () => createRingKey({ privateKey: generateKeyPairSync('ed448').privateKey }, 'k'), /: k is a ed448 key, which no supported algorithm uses/, 'Ed448')
  refuses(t, () => createRingKey({ privateKey: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey }, 'k'), /: k is an EC secp256k1 key, which no supported algorithm uses/, 'secp256k1')
})

t.test('RSA and RSA-PSS keys sign and verify; a signature of any other length than the modulus is refused', async (t) => {
  for (const [alg, pair] of [['RS256', rsa], ['PS256', rsa], ['PS256', pss], ['PS384', pss384]] as const) {
    const signer = createRingKey({ alg, privateKey: pair.privateKey }, 'k')
    const verifier = createRingKey({ alg, publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string }, 'k')
    const signature = signer.sign('a.b')
    t.equal(Buffer.from(signature, 'base64url').length, 256, `${alg}: 256 bytes for a 2048-bit key`)
    t.ok(verifier.verify('a.b', signature), `${alg}: verifies with the public key as PEM`)
    t.notOk(verifier.verify('a.c', signature), `${alg}: another input fails`)
    const padded = Buffer.concat([Buffer.alloc(1), Buffer.from(signature, 'base64url')]).toString('base64url')
    t.notOk(verifier.verify('a.b', padded), `${alg}: a leading zero byte makes it another signature`)
    t.notOk(verifier.verify('a.b', 'A'.repeat(4096)), `${alg}: 3 KB of zeros are refused, not read into the shared buffer`)
  }
  t.notOk(createRingKey({ alg: 'PS256', privateKey: rsa.privateKey }, 'k').verify('a.b', createRingKey({ privateKey: rsa.privateKey }, 'k').sign('a.b')), 'an RS256 signature is not a PS256 one under the same key')
})

t.test('the JWKS publishes RSA and EC keys with kty, their public members, alg, kid and use', async (t) => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' })
  const ring = createKeyRing([{ privateKey: rsa.privateKey }, { privateKey: pss.privateKey }, { privateKey: p384.privateKey }, { publicKey: p521.publicKey }])
  const [rs, ps, es384, es512] = ring.jwks().keys
  const rsaJwk = rsa.publicKey.export({ format: 'jwk' })
  t.same(rs, { kty: 'RSA', n: rsaJwk.n, e: rsaJwk.e, kid: ring.keys[0].kid, alg: 'RS256', use: 'sig' })
  t.same(Object.keys(ps).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use'], 'an RSA-PSS key is published as the RSA key it is')
  t.match(ps, { kty: 'RSA', alg: 'PS256', use: 'sig', e: 'AQAB' })
  t.same(Object.keys(es384).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
  t.match(es384, { kty: 'EC', crv: 'P-384', alg: 'ES384', use: 'sig' })
  t.match(es512, { kty: 'EC', crv: 'P-521', alg: 'ES512', use: 'sig' })
  const fromJwk = createRingKey({ alg: 'PS256', publicKey: ps }, 'k')
  t.equal(fromJwk.kid, ring.keys[1].kid, 'the published RSA-PSS key has the kid of the key it came from')
  t.ok(fromJwk.verify('a.b', ring.keys[1].sign('a.b')), 'and verifies its signatures')
  for (const key of ring.keys) t.match(key.kid, /^[A-Za-z0-9_-]{16}$/, `${key.alg}: the default kid is a thumbprint prefix`)
})

t.test('asymmetric keys come as KeyObjects, PEM or JWK, private or public only', async (t) => {
  const ed = generateKeyPairSync('ed25519')
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const fromPem = createRingKey({ privateKey: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string }, 'k')
  const fromJwk = createRingKey({ publicKey: ec.publicKey.export({ format: 'jwk' }) }, 'k')
  const fromPublicPem = createRingKey({ publicKey: ed.publicKey.export({ type: 'spki', format: 'pem' }) as string }, 'k')
  const withBoth = createRingKey({ privateKey: ed.privateKey, publicKey: ed.publicKey }, 'k')
  t.equal(fromPem.alg, 'ES256')
  t.equal(fromJwk.kid, fromPem.kid, 'the default kid is the key thumbprint, the same from any encoding')
  t.equal(fromJwk.canSign, false)
  t.equal(fromPublicPem.alg, 'EdDSA')
  t.equal(withBoth.kid, fromPublicPem.kid)
  const signature = withBoth.sign('a.b')
  t.ok(fromPublicPem.verify('a.b', signature))
  t.notOk(fromPublicPem.verify('a.c', signature), 'another input fails')
  t.notOk(fromPublicPem.verify('a.b', signature.slice(0, -4)), 'a short signature fails')
  t.notOk(fromPublicPem.verify('a.b', signature.slice(0, -1) + 'B'), 'a non-canonical signature fails')
  t.throws(() => fromJwk.sign('a.b'), new TypeError(`key "${fromJwk.kid}" has no private key and cannot sign`), 'signing with a public key is API misuse: a TypeError')
})

t.test('the ring: first key signs, every key verifies, kids are unique, JWKS lists public keys only', async (t) => {
  const ed = generateKeyPairSync('ed25519')
  const ring = createKeyRing([{ kid: 'new', privateKey: ed.privateKey }, { kid: 'old', secret: randomSecret() }])
  t.equal(ring.signingKey?.kid, 'new')
  t.equal(ring.find('old')?.alg, 'HS256')
  t.equal(ring.find(undefined), undefined, 'with two keys a token must name its key')
  t.equal(ring.find('missing'), undefined)
  const jwks = ring.jwks()
  t.equal(jwks.keys.length, 1, 'the HMAC secret is never published')
  t.match(jwks.keys[0], { kid: 'new', alg: 'EdDSA', use: 'sig', kty: 'OKP', crv: 'Ed25519' })
  t.notOk('d' in jwks.keys[0], 'no private part')
  refuses(t, () => createKeyRing([{ kid: 'a', secret: randomSecret() }, { kid: 'a', secret: randomSecret() }]), /two keys have the kid "a"; key ids must be unique: give each key an explicit kid/, 'duplicate kids')
  refuses(t, () => new KeyRing([]), /at least one key/, 'an empty ring')
  refuses(t, () => createKeyRing('keys' as unknown as []), /must be an array/, 'not an array')
  const verifyOnly = createKeyRing([{ publicKey: ed.publicKey }])
  t.equal(verifyOnly.signingKey, undefined, 'a ring whose first key is public cannot sign')
})

t.test('a signing input with a character outside ASCII never passes for the ASCII input its low bytes spell', async (t) => {
  const keys = [
    createRingKey({ secret: randomSecret() }, 'secret'),
    createRingKey({ privateKey: generateKeyPairSync('ed25519').privateKey }, 'ed25519'),
    createRingKey({ alg: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }, 'es256')
  ]
  for (const key of keys) {
    const input = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0'
    const signature = key.sign(input)
    t.ok(key.verify(input, signature), `${key.alg}: the original verifies`)
    // U+0141 ends in the byte 0x41 ('A'): a latin1 conversion would make the two inputs equal.
    const lookalike = `${input.slice(0, -1)}${String.fromCharCode(0x100 + input.charCodeAt(input.length - 1))}`
    t.notOk(key.verify(lookalike, signature), `${key.alg}: the lookalike does not`)
  }
})

for (const [alg, namedCurve] of Object.entries(curves)) {
  t.test(`${alg} signatures we write are always low-S (s at most n/2), whatever node:crypto picked`, async (t) => {
    const key = createRingKey({ privateKey: generateKeyPairSync('ec', { namedCurve }).privateKey }, 'k')
    // node:crypto gives a high s half the time: 64 low ones in a row would be chance 2^-64.
    const highS = Array.from({ length: 64 }, (_, i) => key.sign(`a.${i}`)).filter(isHighS)
    t.same(highS, [], 'no high-S signature')
  })

  t.test(`an ${alg} signature with s replaced by n - s is refused: one spelling per token`, async (t) => {
    const pair = generateKeyPairSync('ec', { namedCurve })
    const key = createRingKey({ privateKey: pair.privateKey }, 'k')
    for (let i = 0; i < 8; i++) {
      const token = `a.${i}.${key.sign(`a.${i}`)}`
      const twin = withOtherS(token)
      t.ok(key.verify(`a.${i}`, token.split('.')[2]), 'the signature we wrote verifies')
      // The twin is a valid signature to ECDSA itself (so the group order is right); only the low-S rule refuses it.
      t.ok(cryptoVerify(`sha${alg.slice(2)}`, Buffer.from(`a.${i}`), { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(twin.split('.')[2], 'base64url')), 'the twin is mathematically valid')
      t.notOk(key.verify(`a.${i}`, twin.split('.')[2]), 'its high-S twin does not verify here')
    }
  })
}

t.test('the default kid of an HMAC key is its algorithm name, nothing derived from the secret', async (t) => {
  const secret = randomSecret(64)
  t.equal(createRingKey({ secret }, 'k').kid, 'HS256')
  t.equal(createRingKey({ secret, alg: 'HS384' }, 'k').kid, 'HS384')
  t.equal(createRingKey({ secret, alg: 'HS512' }, 'k').kid, 'HS512')
  t.equal(createRingKey({ secret: randomSecret() }, 'k').kid, createRingKey({ secret: randomSecret() }, 'k').kid, 'another secret, the same kid: it says nothing about the secret')
  t.equal(createRingKey({ secret: secret.toString('base64url') }, 'k').kid, createRingKey({ secret: secret.toString('base64url') }, 'k').kid, 'deterministic: instances sharing a secret agree')
})

t.test('two HMAC keys of one algorithm without kids are refused, asking for explicit kids', async (t) => {
  refuses(t, () => createKeyRing([{ secret: randomSecret() }, { secret: randomSecret() }]), /two keys have the kid "HS256".*give each key an explicit kid/, 'two default HS256 kids')
  const ring = createKeyRing([{ kid: 'new', secret: randomSecret() }, { secret: randomSecret() }])
  t.same(ring.keys.map((key) => key.kid), ['new', 'HS256'], 'a new key with a kid before the old default one is fine')
  t.same(createKeyRing([{ secret: randomSecret(48), alg: 'HS384' }, { secret: randomSecret() }]).keys.map((key) => key.kid), ['HS384', 'HS256'], 'other algorithms, other kids')
})

t.test('DER key material is refused as an HMAC secret, whatever its form', async (t) => {
  const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const forms: Record<string, Buffer> = {
    'RSA spki': rsaPair.publicKey.export({ type: 'spki', format: 'der' }),
    'RSA pkcs1 public': rsaPair.publicKey.export({ type: 'pkcs1', format: 'der' }),
    'RSA pkcs1 private': rsaPair.privateKey.export({ type: 'pkcs1', format: 'der' }),
    'EC pkcs8': p256.privateKey.export({ type: 'pkcs8', format: 'der' }),
    'EC sec1': p256.privateKey.export({ type: 'sec1', format: 'der' })
  }
  for (const [name, der] of Object.entries(forms)) {
    refuses(t, () => createRingKey({ secret: der, alg: 'HS512' }, 'keys[0]'), /keys\[0\]\.secret looks like PEM, DER or JWK key material/, name)
  }
  t.ok(createRingKey({ secret: Buffer.concat([Buffer.from([0x30]), randomSecret(40)]) }, 's'), 'random bytes that start like a DER SEQUENCE are fine')
})

t.test('RSA keys with an unsafe public exponent or over 16384 bits are refused, naming the key', async (t) => {
  const n = rsa.publicKey.export({ format: 'jwk' }).n as string
  const withE = (e: Buffer): Record<string, string> => ({ kty: 'RSA', n, e: e.toString('base64url') })
  refuses(t, () => createRingKey({ publicKey: withE(Buffer.from([1])) }, 'keys[0]'), /: keys\[0\] is an RSA key of 2048 bits with public exponent 1; the exponent must be odd, at least 65537 and at most 64 bits/, 'e = 1')
  refuses(t, () => createRingKey({ publicKey: withE(Buffer.from([3])) }, 'k'), /public exponent 3;/, 'e = 3')
  refuses(t, () => createRingKey({ alg: 'PS256', publicKey: withE(Buffer.from([1, 0, 0])) }, 'k'), /public exponent 65536;/, 'an even exponent')
  refuses(t, () => createRingKey({ publicKey: withE(Buffer.from('010000000000000001', 'hex')) }, 'k'), /public exponent 18446744073709551617;/, 'an exponent over 64 bits')
  t.ok(createRingKey({ publicKey: withE(Buffer.from('ffffffffffffffff', 'hex')) }, 'k'), 'the largest 64-bit odd exponent is fine')
  const huge = Buffer.alloc(16384 / 8 + 1, 0xff)
  refuses(t, () => createRingKey({ publicKey: { kty: 'RSA', n: huge.toString('base64url'), e: 'AQAB' } }, 'k'), /: k is an RSA key of 16392 bits; node:crypto verifies with RSA keys of at most 16384 bits/, '16392 bits')
  t.ok(createRingKey({ publicKey: { kty: 'RSA', n: huge.subarray(1).toString('base64url'), e: 'AQAB' } }, 'k'), '16384 bits is the largest accepted')
})

t.test('private key material given as publicKey never reaches the JWKS: no d, p, q, dp, dq, qi or k', async (t) => {
  const pairs = [
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
    generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    generateKeyPairSync('ec', { namedCurve: 'P-521' }),
    generateKeyPairSync('ed25519')
  ]
  const definitions = pairs.flatMap(({ privateKey }) => [
    { publicKey: privateKey.export({ format: 'jwk' }) },
    { publicKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string },
    { privateKey }
  ]).map((definition, index) => ({ ...definition, kid: `k${index}` }))
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
  const ring = createKeyRing([...definitions, { kid: 'pss', privateKey: pss.privateKey }, { secret: randomSecret() }])
  const published = ring.jwks().keys
  t.equal(published.length, definitions.length + 1, 'every asymmetric key, and no HMAC key')
  for (const jwk of published) {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) t.notOk(member in jwk, `${jwk.kid as string} has no ${member}`)
  }
  t.notOk(ring.keys[0].canSign, 'a private JWK given as publicKey does not make a signing key')
})
