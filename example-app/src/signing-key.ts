import { createPrivateKey, hkdfSync, type KeyObject } from 'node:crypto'

// A PKCS#8 Ed25519 private key is this fixed prefix followed by the 32-byte seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/**
 * The Ed25519 key the example signs access tokens with, derived from the token secret:
 * every instance given the same TOKEN_SECRET signs with the same key, and the secret
 * itself never leaves the auth service. Other services verify with the public half,
 * which the app publishes at /.well-known/jwks.json.
 */
export function signingKeyFrom (secret: string): KeyObject {
  const seed = Buffer.from(hkdfSync('sha256', secret, 'fastify-token-auth-example', 'access-token signing key v1', 32))
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
}
