import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { buildApp } from './helpers/app.js'
import { bearer } from './helpers/forge.js'

const OLD = 'iE9TQ6P5nx11PeWo4yVsTxZHwo5oYFslK2ffcUZ6buGm'
const NEW = 'DJ8yrtA4aLPQwpx6JZyacZTxHLHYfM_I9DOgAlT1Kr3f'

t.test('a token signed by the old key still verifies after a new signing key is added', async (t) => {
  const before = await buildApp(t, { auth: { keys: [{ kid: 'old', secret: OLD }] } })
  const token = await before.tokenAuth.sign({ sub: 'u1' })
  const after = await buildApp(t, { auth: { keys: [{ kid: 'new', secret: NEW }, { kid: 'old', secret: OLD }] } })
  t.equal((await after.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
  const fresh = await after.tokenAuth.sign({ sub: 'u1' })
  t.equal(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid, 'new', 'new tokens are signed with the first key')
})

t.test('a removed key stops verifying its tokens', async (t) => {
  const before = await buildApp(t, { auth: { keys: [{ kid: 'old', secret: OLD }] } })
  const token = await before.tokenAuth.sign({ sub: 'u1' })
  const after = await buildApp(t, { auth: { keys: [{ kid: 'new', secret: NEW }] } })
  const res = await after.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  t.match(res.headers['www-authenticate'], /error="invalid_token", error_description="[^"]*unknown signing key"/)
})

t.test('a key reused under the same kid with another secret fails on the signature', async (t) => {
  const before = await buildApp(t, { auth: { keys: [{ kid: 'k', secret: OLD }] } })
  const token = await before.tokenAuth.sign({ sub: 'u1' })
  const after = await buildApp(t, { auth: { keys: [{ kid: 'k', secret: NEW }] } })
  const res = await after.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.match(res.headers['www-authenticate'], /bad signature/)
})

t.test('rotation from HMAC to EdDSA: a verify-only service with the public key accepts the new tokens', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const issuer = await buildApp(t, { auth: { keys: [{ kid: 'ed', privateKey }, { kid: 'old', secret: OLD }] } })
  // A verify-only service has no secret to bind CSRF tokens to: Bearer only here.
  const resource = await buildApp(t, { auth: { keys: [{ kid: 'ed', publicKey }], transport: { cookie: false } } })
  const token = await issuer.tokenAuth.sign({ sub: 'u2' })
  const res = await resource.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().sub, 'u2')
  await t.rejects(resource.tokenAuth.sign({ sub: 'u2' }), new TypeError('the first key has no private key, so this service cannot sign tokens'), 'a public-key-only service cannot sign: a TypeError, not a configuration error')
})

t.test('rotation away from `secret`: its tokens carry kid HS256 and verify once the old secret sits behind a new key', async (t) => {
  const before = await buildApp(t, { auth: { secret: OLD } })
  const token = await before.tokenAuth.sign({ sub: 'u1' })
  t.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid, 'HS256', 'the default kid names the algorithm, not the secret')
  const after = await buildApp(t, { auth: { keys: [{ kid: 'new', secret: NEW }, { secret: OLD }] } })
  t.equal((await after.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
})
