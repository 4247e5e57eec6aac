import { BcryptPasswordHasher, type PasswordHasher } from 'fastify-token-auth'

/** bcrypt at cost 10 that counts its verifications, to prove equal work without timing anything. */
export class CountingHasher implements PasswordHasher {
  readonly #inner: BcryptPasswordHasher
  verifications = 0

  constructor (cost = 10) {
    this.#inner = new BcryptPasswordHasher(cost)
  }

  get cost (): number { return this.#inner.cost }
  async hash (password: string): Promise<string> { return await this.#inner.hash(password) }
  async verify (password: string, hash: string): Promise<boolean> {
    this.verifications++
    return await this.#inner.verify(password, hash)
  }

  needsRehash (hash: string): boolean { return this.#inner.needsRehash(hash) }
  async dummyHash (): Promise<string> { return await this.#inner.dummyHash() }
}
