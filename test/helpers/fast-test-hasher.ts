import { createHash, randomBytes } from 'node:crypto'
import type { PasswordHasher } from 'fastify-token-auth'

/**
 * A PasswordHasher for tests that fuzz request handling, not bcrypt: salted SHA-256,
 * instant. Never for real passwords.
 */
export class FastTestHasher implements PasswordHasher {
  readonly cost = 10
  verifications = 0
  #hash (password: string, salt: string): string {
    return `test$${salt}$${createHash('sha256').update(salt).update(password).digest('base64url')}`
  }

  async hash (password: string): Promise<string> { return this.#hash(password, randomBytes(8).toString('hex')) }
  async verify (password: string, hash: string): Promise<boolean> {
    this.verifications++
    return this.#hash(password, hash.split('$')[1]) === hash
  }

  needsRehash (): boolean { return false }
  async dummyHash (): Promise<string> { return await this.hash(randomBytes(16).toString('hex')) }
}
