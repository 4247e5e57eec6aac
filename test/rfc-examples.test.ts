import t from 'tap'
import { TokenExpiredError, TokenInvalidError } from 'fastify-token-auth'
import { systemClock } from '../lib/clock.js'
import { createKeyRing } from '../lib/tokens/key-ring.js'
import { JwtVerifier } from '../lib/tokens/jwt-verifier.js'

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
