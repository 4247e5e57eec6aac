import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import type { Jwk } from './key-material.js'

// Default key ids of public keys are the first 16 characters (96 bits) of the RFC 7638
// thumbprint: public data, unique in practice, and every token header stays short.
const DEFAULT_KID_LENGTH = 16

/** The start of the RFC 7638 thumbprint: the required members only, in lexicographic order, no whitespace. */
export function thumbprintKid (jwk: Jwk): string {
  const members = jwk.kty === 'RSA'
    ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url').slice(0, DEFAULT_KID_LENGTH)
}

/** One DER element's content bounds; the input comes from node:crypto, so it is well formed. */
function derElement (der: Buffer, offset: number): { start: number, end: number } {
  let length = der[offset + 1]
  let start = offset + 2
  if (length > 0x7f) {
    const lengthBytes = length & 0x7f
    length = 0
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + der[start++]
  }
  return { start, end: start + length }
}

/**
 * The public JWK of a key. JWK has no RSA-PSS key type (RFC 7518 §6.3 keys serve RS* and PS*
 * alike) and node:crypto exports none, so an RSA-PSS key is published as the RSA key inside
 * its SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING { RSAPublicKey } }.
 */
export function publicJwkOf (key: KeyObject): Jwk {
  if (key.asymmetricKeyType !== 'rsa-pss') return key.export({ format: 'jwk' })
  const der = key.export({ type: 'spki', format: 'der' })
  const algorithm = derElement(der, derElement(der, 0).start)
  const bitString = derElement(der, algorithm.end)
  // The BIT STRING's first content byte counts unused bits (0); the RSAPublicKey follows.
  return createPublicKey({ key: der.subarray(bitString.start + 1, bitString.end), format: 'der', type: 'pkcs1' }).export({ format: 'jwk' })
}
