import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto'
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
  refuses(t, () => createRingKey({ secret: pem }, 'secret'), /looks like PEM or JWK/, 'a PEM public key')
  refuses(t, () => createRingKey({ secret: Buffer.from(pem) }, 'secret'), /looks like PEM or JWK/, 'a PEM public key in a Buffer')
  refuses(t, () => createRingKey({ secret: JSON.stringify(publicKey.export({ format: 'jwk' })) }, 'secret'), /looks like PEM or JWK/, 'a JWK as JSON text')
  refuses(t, () => createRingKey({ secret: publicKey as unknown as string }, 'secret'), /must be a secret key, not a public key/, 'a public KeyObject')
  t.ok(createRingKey({ secret: `{${randomSecret(40).toString('hex')}` }, 's'), 'text that merely starts with a brace is fine')
  t.ok(createRingKey({ secret: createSecretKey(randomSecret()) }, 's'), 'a secret KeyObject is fine')
})

t.test('a key binds exactly one algorithm, and the key type must fit it', async (t) => {
  const ed = generateKeyPairSync('ed25519')
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  refuses(t, () => createRingKey({ alg: 'none' as 'HS256', secret: randomSecret() }, 'k'), /must be one of HS256, HS384, HS512, EdDSA, ES256/, 'alg none')
  refuses(t, () => createRingKey({ alg: 'RS256' as 'HS256', secret: randomSecret() }, 'k'), /must be one of/, 'an unsupported alg')
  refuses(t, () => createRingKey({ secret: randomSecret(), privateKey: ed.privateKey }, 'k'), /both a secret and a private\/public key/, 'secret and key')
  refuses(t, () => createRingKey({}, 'k'), /needs a secret/, 'nothing')
  refuses(t, () => createRingKey({ alg: 'HS256', privateKey: ed.privateKey }, 'k'), /HS256, which needs a secret/, 'HS256 with a private key')
  refuses(t, () => createRingKey({ alg: 'EdDSA', secret: randomSecret() }, 'k'), /both|needs a privateKey/, 'EdDSA with a secret')
  refuses(t, () => createRingKey({ alg: 'EdDSA', privateKey: ec.privateKey }, 'k'), /is a ec key, which cannot be used for EdDSA/, 'EdDSA with a P-256 key')
  refuses(t, () => createRingKey({ alg: 'ES256', privateKey: p384.privateKey }, 'k'), /cannot be used for ES256/, 'ES256 with a P-384 key')
  refuses(t, () => createRingKey({ privateKey: rsa.privateKey }, 'k'), /is a rsa key, which cannot be used for ES256/, 'RSA keys are not supported')
  refuses(t, () => createRingKey({ privateKey: ed.publicKey }, 'k'), /privateKey is not a usable private key \(it is a public key\)/, 'a public key as privateKey')
  refuses(t, () => createRingKey({ publicKey: ed.privateKey }, 'k'), /publicKey is not a usable public key/, 'a private KeyObject as publicKey')
  refuses(t, () => createRingKey({ privateKey: 'not a pem' }, 'k'), /not a usable private key/, 'garbage PEM')
  refuses(t, () => createRingKey({ publicKey: { kty: 'OKP' } }, 'k'), /not a usable public key/, 'a broken JWK')
  refuses(t, () => createRingKey({ privateKey: ed.privateKey, publicKey: generateKeyPairSync('ed25519').publicKey }, 'k'), /publicKey does not belong to k.privateKey/, 'a mismatched pair')
  refuses(t, () => createRingKey({ kid: '', secret: randomSecret() }, 'k'), /kid must be a non-empty string/, 'an empty kid')
  refuses(t, () => createRingKey({ kid: 'x'.repeat(129), secret: randomSecret() }, 'k'), /at most 128/, 'a long kid')
  refuses(t, () => createRingKey(null as unknown as object, 'k'), /must be an object/, 'null')
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

t.test('ES256 signatures we write are always low-S (s at most n/2), whatever node:crypto picked', async (t) => {
  const key = createRingKey({ privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }, 'es256')
  // node:crypto gives a high s half the time: 64 low ones in a row would be chance 2^-64.
  const highS = Array.from({ length: 64 }, (_, i) => key.sign(`a.${i}`)).filter(isHighS)
  t.same(highS, [], 'no high-S signature')
})

t.test('an ES256 signature with s replaced by n - s is refused: one spelling per token', async (t) => {
  const key = createRingKey({ privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }, 'es256')
  for (let i = 0; i < 8; i++) {
    const token = `a.${i}.${key.sign(`a.${i}`)}`
    const twin = withOtherS(token)
    t.ok(key.verify(`a.${i}`, token.split('.')[2]), 'the signature we wrote verifies')
    t.notOk(key.verify(`a.${i}`, twin.split('.')[2]), 'its high-S twin does not')
  }
})

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
