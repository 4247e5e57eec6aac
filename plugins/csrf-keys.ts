import { hkdfSync, KeyObject } from 'node:crypto'
import { InvalidOptionError } from '../lib/errors.js'
import type { KeyDefinition } from '../lib/tokens/key-ring.js'
import { privateKeyFrom } from '../lib/tokens/key-material.js'

/** The keys CSRF tokens are made with: one to issue, every one to accept (key rotation). */
export interface CsrfKeys {
  issuing: Buffer
  accepted: readonly Buffer[]
}

export interface CsrfKeySources {
  /** `csrf.secret`: replaces the derivation from the token keys. */
  csrfSecret?: string | Buffer
  /** The token keys as configured (`secret` or `keys`), already validated by the key ring. */
  definitions: readonly KeyDefinition[]
}

export const MIN_CSRF_SECRET_BYTES = 32
// A distinct info string: the derived key can never equal, or reveal, a signing key.
const HKDF_INFO = 'fastify-token-auth csrf-token v1'
const HKDF_SALT = 'fastify-token-auth'

function derive (material: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', material, HKDF_SALT, HKDF_INFO, 32))
}

/** The secret bytes of one key definition: an HMAC secret, or a private key (PKCS#8 DER); none for a public key. */
function secretMaterial (definition: KeyDefinition, name: string): Buffer | undefined {
  const { secret, privateKey } = definition
  if (secret instanceof KeyObject) return secret.export()
  if (secret !== undefined) return Buffer.from(secret)
  if (privateKey === undefined) return undefined
  return privateKeyFrom(privateKey, name).export({ format: 'der', type: 'pkcs8' })
}

/**
 * Derives the CSRF keys at registration with HKDF, so no new option is needed: from
 * `csrf.secret` when given, otherwise from each token key's secret material, issuing under
 * the signing key's. Undefined when there is no secret material (a verify-only ring).
 */
export function deriveCsrfKeys ({ csrfSecret, definitions }: CsrfKeySources): CsrfKeys | undefined {
  if (csrfSecret !== undefined) {
    if ((typeof csrfSecret !== 'string' && !Buffer.isBuffer(csrfSecret)) || Buffer.byteLength(csrfSecret) < MIN_CSRF_SECRET_BYTES) {
      throw new InvalidOptionError(`csrf.secret must be a string or Buffer of at least ${MIN_CSRF_SECRET_BYTES} random bytes`)
    }
    const key = derive(Buffer.from(csrfSecret))
    return { issuing: key, accepted: [key] }
  }
  const accepted: Buffer[] = []
  definitions.forEach((definition, index) => {
    const material = secretMaterial(definition, `keys[${index}].privateKey`)
    if (material !== undefined) accepted.push(derive(material))
  })
  return accepted.length === 0 ? undefined : { issuing: accepted[0], accepted }
}
