import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { ALGORITHM_SPECS, type Algorithm } from './algorithms.js'
import { checkSecretStrength, GENERATE_SECRET_HINT, STRICT_SECRET_POLICY, type WeakSecretPolicy } from './weak-secret-policy.js'

/**
 * A JSON Web Key (RFC 7517, members of RFC 7518 §6). Our own type rather than node:crypto's,
 * which newer @types/node no longer export.
 */
export interface Jwk {
  kty?: string | undefined
  crv?: string | undefined
  x?: string | undefined
  y?: string | undefined
  d?: string | undefined
  n?: string | undefined
  e?: string | undefined
  p?: string | undefined
  q?: string | undefined
  dp?: string | undefined
  dq?: string | undefined
  qi?: string | undefined
  k?: string | undefined
  kid?: string | undefined
  alg?: string | undefined
  use?: string | undefined
  key_ops?: string[] | undefined
  [member: string]: unknown
}

/** A key as users hold it: a KeyObject, a PEM string, or a JWK object. */
export type KeyMaterial = KeyObject | string | Jwk

// The form node:crypto takes a JWK in; its own JsonWebKey type is not named, see Jwk.
type JwkInput = Extract<Parameters<typeof createPublicKey>[0], { format: 'jwk' }>
const jwkInput = (jwk: Jwk): JwkInput => ({ key: jwk, format: 'jwk' }) as JwkInput

const PEM_MARKER = /-----BEGIN [A-Z0-9 ]+-----/

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

// The DER forms a key file holds; the bytes of a .der file read into a Buffer are no secret either.
const DER_KEY_FORMS = [
  (der: Buffer) => createPublicKey({ key: der, format: 'der', type: 'spki' }),
  (der: Buffer) => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }),
  (der: Buffer) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
  (der: Buffer) => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }),
  (der: Buffer) => createPrivateKey({ key: der, format: 'der', type: 'sec1' })
]

function isDerKey (bytes: Buffer): boolean {
  // Every DER key is a SEQUENCE; random bytes rarely start with its tag and never parse as a key.
  if (bytes[0] !== 0x30) return false
  return DER_KEY_FORMS.some((parse) => {
    try {
      parse(bytes)
      return true
    } catch {
      return false
    }
  })
}

/**
 * Builds the HMAC key for `alg`, refusing secrets an attacker could guess (unless the
 * policy allows them, in tests) and key material that belongs to another algorithm (a
 * public key used as an HMAC secret is the classic algorithm-confusion forgery).
 */
export function hmacSecretKey (secret: unknown, alg: Algorithm, name: string, policy: WeakSecretPolicy = STRICT_SECRET_POLICY): KeyObject {
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
  if (PEM_MARKER.test(text) || looksLikeJwk(text) || isDerKey(bytes)) {
    throw new InvalidOptionError(`${name} looks like PEM, DER or JWK key material; an HMAC secret must be random bytes (use privateKey/publicKey for EdDSA, ECDSA and RSA keys)`)
  }
  const minBytes = ALGORITHM_SPECS[alg].minSecretBytes
  if (bytes.length < minBytes) {
    throw new InvalidOptionError(`${name} must be at least ${minBytes} bytes for ${alg}; got ${bytes.length} (generate one with: ${GENERATE_SECRET_HINT})`)
  }
  checkSecretStrength(bytes, name, policy)
  return createSecretKey(bytes)
}

function isJwk (material: KeyMaterial): material is Jwk {
  return typeof material === 'object' && !(material instanceof KeyObject)
}

export function privateKeyFrom (material: KeyMaterial, name: string): KeyObject {
  try {
    if (material instanceof KeyObject) {
      if (material.type !== 'private') throw new Error(`it is a ${material.type} key`)
      return material
    }
    return isJwk(material) ? createPrivateKey(jwkInput(material)) : createPrivateKey(material)
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
    return isJwk(material) ? createPublicKey(jwkInput(material)) : createPublicKey(material)
  } catch (error) {
    throw new InvalidOptionError(`${name} is not a usable public key (${(error as Error).message})`)
  }
}
