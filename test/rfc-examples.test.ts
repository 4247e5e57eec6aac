import { createPublicKey, verify } from 'node:crypto'
import t from 'tap'
import { TokenExpiredError, TokenInvalidError } from 'fastify-token-auth'
import { systemClock } from '../lib/clock.js'
import { createKeyRing } from '../lib/tokens/key-ring.js'
import { JwtVerifier } from '../lib/tokens/jwt-verifier.js'
import { isHighS, withOtherS } from './helpers/forge.js'

// The published examples, byte for byte, checked by the engine the plugin uses.

const genericPolicy = { issuer: undefined, audience: undefined, clockToleranceSeconds: 0, required: [], typ: undefined, maxTokenLength: 4096 }

t.test('RFC 7515 A.1 (HS256): verifies with the clock before its exp, is expired today', async (t) => {
  const key = Buffer.from('AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow', 'base64url')
  const token = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
    '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
    '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
  const verifier = new JwtVerifier(createKeyRing([{ secret: key, alg: 'HS256' }]), genericPolicy, systemClock)
  const claims = verifier.verify(token, 1300819380 - 1)
  t.same(claims, { iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true })
  t.throws(() => verifier.verify(token), TokenExpiredError)
  t.throws(() => verifier.verify(token, 1300819380), TokenExpiredError, 'exp is the first instant it is no longer valid')
})

t.test('RFC 8037 A.4 (Ed25519): the signature checks out, but it is not a JWT', async (t) => {
  const privateKey = {
    kty: 'OKP',
    crv: 'Ed25519',
    d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
    x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'
  }
  const token = 'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc' +
    '.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg'
  const ring = createKeyRing([{ privateKey }])
  t.equal(ring.keys[0].alg, 'EdDSA', 'an Ed25519 key is bound to EdDSA')
  t.equal(ring.keys[0].sign('eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc'), token.split('.')[2], 'Ed25519 is deterministic: we produce the RFC signature')
  const verifier = new JwtVerifier(ring, genericPolicy, systemClock)
  const verified = verifier.verifySignature(token)
  t.equal(Buffer.from(verified.payloadSegment, 'base64url').toString(), 'Example of Ed25519 signing')
  t.throws(() => verifier.verify(token), new TokenInvalidError('payload is not JSON'))
  const tampered = token.slice(0, -2) + (token.endsWith('Ag') ? 'Aw' : 'Ag')
  t.throws(() => verifier.verifySignature(tampered), new TokenInvalidError('bad signature'))
})

/** Whether node:crypto alone accepts a JWS ECDSA signature: the examples are checked independently of the low-S rule. */
function ecdsaValid (token: string, hash: string, jwk: Record<string, string>): boolean {
  const dot = token.lastIndexOf('.')
  return verify(hash, Buffer.from(token.slice(0, dot)), { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(token.slice(dot + 1), 'base64url'))
}

// RFC 7515 A.1's payload, which A.2, A.3 sign too: {"iss":"joe",...,"http://example.com/is_root":true}
const A1_PAYLOAD = 'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ'

t.test('RFC 7515 A.2 (RS256): the signature checks out with the published public key, and tampering breaks it', async (t) => {
  const publicKey = {
    kty: 'RSA',
    e: 'AQAB',
    n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ'
  }
  const token = `eyJhbGciOiJSUzI1NiJ9.${A1_PAYLOAD}.` +
    'cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--' +
    'f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUi' +
    'pUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw'
  const ring = createKeyRing([{ publicKey }])
  t.equal(ring.keys[0].alg, 'RS256', 'an RSA key is bound to RS256')
  const verifier = new JwtVerifier(ring, genericPolicy, systemClock)
  t.equal(verifier.verifySignature(token).payloadSegment, A1_PAYLOAD)
  t.same(verifier.verify(token, 1300819380 - 1), { iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true })
  t.throws(() => verifier.verifySignature(token.replace('.cC4h', '.cC4i')), new TokenInvalidError('bad signature'))
  const asPss = new JwtVerifier(createKeyRing([{ alg: 'PS256', publicKey }]), genericPolicy, systemClock)
  t.throws(() => asPss.verifySignature(token), new TokenInvalidError('algorithm does not match the key'), 'the same key stated as PS256 refuses the RS256 token')
})

t.test('RFC 7515 A.3 (ES256): the RFC signature is valid ECDSA but high-S, so refused as written; its low-S spelling verifies', async (t) => {
  const publicKey = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }
  const token = `eyJhbGciOiJFUzI1NiJ9.${A1_PAYLOAD}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q`
  t.ok(ecdsaValid(token, 'sha256', publicKey), 'node:crypto accepts the RFC signature')
  t.ok(isHighS(token.split('.')[2]), 'the RFC signature has s above n/2')
  const verifier = new JwtVerifier(createKeyRing([{ publicKey }]), genericPolicy, systemClock)
  t.throws(() => verifier.verifySignature(token), new TokenInvalidError('bad signature'), 'one spelling per token: high-S is refused')
  const lowS = withOtherS(token)
  t.equal(verifier.verifySignature(lowS).payloadSegment, A1_PAYLOAD)
  t.same(verifier.verify(lowS, 1300819380 - 1), { iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true })
  t.throws(() => verifier.verifySignature(lowS.replace('.Dt', '.Du')), new TokenInvalidError('bad signature'), 'tampering breaks it')
})

t.test('RFC 7515 A.4 (ES512, P-521): the low-S signature checks out, its high-S twin does not, and it is not a JWT', async (t) => {
  const publicKey = {
    kty: 'EC',
    crv: 'P-521',
    x: 'AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk',
    y: 'ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2'
  }
  const token = 'eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.' +
    'AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn'
  const ring = createKeyRing([{ publicKey }])
  t.equal(ring.keys[0].alg, 'ES512', 'a P-521 key is bound to ES512')
  const verifier = new JwtVerifier(ring, genericPolicy, systemClock)
  t.ok(ecdsaValid(token, 'sha512', publicKey), 'node:crypto accepts the RFC signature')
  t.notOk(isHighS(token.split('.')[2]), 'this RFC signature has s below n/2')
  t.equal(Buffer.from(verifier.verifySignature(token).payloadSegment, 'base64url').toString(), 'Payload')
  const highS = withOtherS(token)
  t.ok(ecdsaValid(highS, 'sha512', publicKey), 'node:crypto accepts its high-S twin')
  t.throws(() => verifier.verifySignature(highS), new TokenInvalidError('bad signature'), 'one spelling per token: high-S is refused')
  t.throws(() => verifier.verify(token), new TokenInvalidError('payload is not JSON'))
})
