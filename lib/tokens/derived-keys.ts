import { hkdfSync, KeyObject } from 'node:crypto'
import type { KeyDefinition } from './key-ring.js'
import { privateKeyFrom } from './key-material.js'

/** Keys derived for one purpose: one to issue with, every one to accept (key rotation). */
export interface DerivedKeys {
  issuing: Buffer
  accepted: readonly Buffer[]
}

const HKDF_SALT = 'fastify-token-auth'

/** HKDF-SHA256 with an info string per purpose: a derived key never equals, or reveals, a signing key or another purpose's key. */
export function deriveKey (material: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, HKDF_SALT, `fastify-token-auth ${purpose}`, 32))
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
 * Derives keys for a purpose (CSRF tokens, device tokens) from the token keys' secret
 * material, so no new option is needed: issuing under the first key that has material,
 * accepting under each. Undefined when no key has any (a verify-only ring).
 */
export function deriveKeysFromRing (definitions: readonly KeyDefinition[], purpose: string): DerivedKeys | undefined {
  const accepted: Buffer[] = []
  definitions.forEach((definition, index) => {
    const material = secretMaterial(definition, `keys[${index}].privateKey`)
    if (material !== undefined) accepted.push(deriveKey(material, purpose))
  })
  return accepted.length === 0 ? undefined : { issuing: accepted[0], accepted }
}

/** The key definitions an options object describes: `keys`, or the one `secret`. */
export function keyDefinitionsOf (options: { keys?: readonly KeyDefinition[] | undefined, secret?: string | Buffer | undefined }): readonly KeyDefinition[] {
  return options.keys ?? [{ secret: options.secret }]
}
