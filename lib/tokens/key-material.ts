import { createPrivateKey, createPublicKey, createSecretKey, KeyObject, type JsonWebKey } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { ALGORITHM_SPECS, type Algorithm } from './algorithms.js'

/** A key as users hold it: a KeyObject, a PEM string, or a JWK object. */
export type KeyMaterial = KeyObject | string | JsonWebKey

const PEM_MARKER = /-----BEGIN [A-Z0-9 ]+-----/
// A random secret of 32+ bytes has far more distinct bytes than this; fewer means a
// placeholder such as 'x'.repeat(32) or '0000…' that would make every token forgeable.
const MIN_DISTINCT_SECRET_BYTES = 8

function looksLikeJwk (text: string): boolean {
  const trimmed = text.trim()
  if (!trimmed.startsWith('{')) return false
  try {
    const parsed: unknown = JSON.parse(trimmed)
    return typeof parsed === 'object' && parsed !== null && 'kty' in parsed
  } catch {
    return false
  }
}

/**
 * Builds the HMAC key for `alg`, refusing secrets an attacker could guess and key
 * material that belongs to another algorithm (a public key used as an HMAC secret is
 * the classic algorithm-confusion forgery).
 */
export function hmacSecretKey (secret: unknown, alg: Algorithm, name: string): KeyObject {
  let bytes: Buffer
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret') throw new InvalidOptionError(`${name} must be a secret key, not a ${secret.type} key`)
    bytes = secret.export()
  } else if (typeof secret === 'string' || Buffer.isBuffer(secret)) {
    bytes = Buffer.from(secret)
  } else {
    throw new InvalidOptionError(`${name} must be a string, a Buffer or a secret KeyObject`)
  }
  const text = bytes.toString('utf8')
  if (PEM_MARKER.test(text) || looksLikeJwk(text)) {
    throw new InvalidOptionError(`${name} looks like PEM or JWK key material; an HMAC secret must be random bytes (use privateKey/publicKey for EdDSA or ES256)`)
  }
  const minBytes = ALGORITHM_SPECS[alg].minSecretBytes
  if (bytes.length < minBytes) {
    throw new InvalidOptionError(`${name} must be at least ${minBytes} bytes for ${alg}; got ${bytes.length} (generate one with: node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))")`)
  }
  if (new Set(bytes).size < MIN_DISTINCT_SECRET_BYTES) {
    throw new InvalidOptionError(`${name} is not random: it has fewer than ${MIN_DISTINCT_SECRET_BYTES} distinct bytes`)
  }
  return createSecretKey(bytes)
}

function isJwk (material: KeyMaterial): material is JsonWebKey {
  return typeof material === 'object' && !(material instanceof KeyObject)
}

export function privateKeyFrom (material: KeyMaterial, name: string): KeyObject {
  try {
    if (material instanceof KeyObject) {
      if (material.type !== 'private') throw new Error(`it is a ${material.type} key`)
      return material
    }
    return isJwk(material) ? createPrivateKey({ key: material, format: 'jwk' }) : createPrivateKey(material)
  } catch (error) {
    throw new InvalidOptionError(`${name} is not a usable private key (${(error as Error).message})`)
  }
}

export function publicKeyFrom (material: KeyMaterial, name: string): KeyObject {
  try {
    if (material instanceof KeyObject) {
      if (material.type !== 'public') throw new Error(`it is a ${material.type} key`)
      return material
    }
    return isJwk(material) ? createPublicKey({ key: material, format: 'jwk' }) : createPublicKey(material)
  } catch (error) {
    throw new InvalidOptionError(`${name} is not a usable public key (${(error as Error).message})`)
  }
}
