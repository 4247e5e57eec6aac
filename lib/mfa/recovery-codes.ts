import { createHmac, randomInt } from 'node:crypto'
import { deriveKey } from '../tokens/derived-keys.js'

// Crockford's base32 in lower case: no i, l, o or u, so nothing reads as another character.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
/** Codes in a set. */
export const RECOVERY_CODE_COUNT = 10
// 10 characters of 5 bits: 50 bits, far beyond what a throttled login lets anyone guess.
const CODE_LENGTH = 10
const NORMALISED = new RegExp(`^[${ALPHABET}]{${CODE_LENGTH}}$`)

/** A new code, normalised (10 characters of the alphabet). */
function newCode (): string {
  return Array.from({ length: CODE_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')
}

/**
 * A typed recovery code as it was generated, or undefined when it cannot be one: lower
 * case, spaces and hyphens removed, o read as 0, i and l as 1 (as Crockford's base32
 * reads them). Any other character outside the alphabet makes it simply wrong.
 */
export function normaliseRecoveryCode (typed: string): string | undefined {
  const code = typed.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1')
  return NORMALISED.test(code) ? code : undefined
}

/**
 * Recovery codes are kept as HMAC-SHA256 under a key derived from `mfa.encryptionKey`: a
 * thief of the database alone cannot test 2^50 candidates offline against them.
 */
export class RecoveryCodeHasher {
  readonly #keys: readonly Buffer[]

  /** `materials`: the encryption keys' bytes, the current one first. */
  constructor (materials: readonly Buffer[]) {
    this.#keys = materials.map((material) => deriveKey(material, 'recovery codes v1'))
  }

  /** A new set: the codes as shown to the user (`xxxxx-xxxxx`), and the hashes to store, under the current key. */
  newSet (): { codes: string[], hashes: string[] } {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode)
    return {
      codes: codes.map((code) => `${code.slice(0, 5)}-${code.slice(5)}`),
      hashes: codes.map((code) => createHmac('sha256', this.#keys[0]).update(code).digest('hex'))
    }
  }

  /** The hashes a stored code may have, one per key (a set made before a rotation still works). */
  candidates (code: string): string[] {
    return this.#keys.map((key) => createHmac('sha256', key).update(code).digest('hex'))
  }
}
