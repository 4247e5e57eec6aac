import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { deriveKey } from '../tokens/derived-keys.js'

const VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16
const SEALED = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{22})$/

interface BoxKey {
  id: string
  key: Buffer
}

/**
 * Encrypts TOTP secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from
 * `mfa.encryptionKey`, a random 12-byte IV, and the user id as additional data, so that a
 * secret copied into another user's row does not decrypt. Sealed as
 * `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url; keyId: 8 hex characters of a SHA-256 of
 * the derived key): with several keys (rotation) the first seals and each opens what it sealed.
 */
export class SecretBox {
  readonly #keys: readonly BoxKey[]

  /** `materials`: the encryption keys' bytes, the sealing one first. */
  constructor (materials: readonly Buffer[]) {
    this.#keys = materials.map((material) => {
      const key = deriveKey(material, 'totp v1')
      return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key }
    })
  }

  seal (plain: Uint8Array, userId: string): string {
    const { id, key } = this.#keys[0]
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    cipher.setAAD(Buffer.from(userId, 'utf8'))
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()])
    return [VERSION, id, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
  }

  /** The plain bytes, or undefined when no key opens it for this user (tampered, another user's, a key no longer configured). */
  open (sealed: string, userId: string): Buffer | undefined {
    const match = SEALED.exec(sealed)
    if (match === null) return undefined
    const [, keyId, iv, ciphertext, tag] = match
    // Two keys may share an id (8 hex characters): each one with it is tried.
    for (const { id, key } of this.#keys) {
      if (id !== keyId) continue
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(userId, 'utf8'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      try {
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()])
      } catch {
        // The tag did not verify: tampered, or sealed for another user; another key with this id may still open it.
      }
    }
    return undefined
  }
}
