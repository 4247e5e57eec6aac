import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import tokenAuth, { type Jwk, type JsonWebKeySet, type KeyMaterial } from 'fastify-token-auth'

test('a JWK from node:crypto is a Jwk, and a Jwk is key material', () => {
  const exported = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })
  expect(exported).type.toBeAssignableTo<Jwk>()
  expect<Jwk>().type.toBeAssignableTo<KeyMaterial>()
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { keys: [{ kid: 'ed', publicKey: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' } }], transport: { cookie: false } })
})

test('the JWKS document holds Jwk objects', () => {
  expect<JsonWebKeySet['keys'][number]>().type.toBe<Jwk>()
})

test('allowWeakSecret is a boolean', () => {
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { secret: 'x', allowWeakSecret: true })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', allowWeakSecret: 'yes' })
})

test('alg names every supported algorithm and nothing else', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const) {
    expect(Fastify().register).type.toBeCallableWith(tokenAuth, { keys: [{ alg, publicKey }], transport: { cookie: false } })
  }
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, { keys: [{ alg: 'ES512', publicKey }], transport: { cookie: false } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { keys: [{ alg: 'none', publicKey }], transport: { cookie: false } })
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { keys: [{ alg: 'RS1', publicKey }], transport: { cookie: false } })
})
