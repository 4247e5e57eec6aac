import { randomBytes } from 'node:crypto'

/** A fresh `mfa.encryptionKey`: 32 random bytes as base64url text. */
export function generateSecretKey (): string {
  return randomBytes(32).toString('base64url')
}
