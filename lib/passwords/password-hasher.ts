import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt'
import { randomBytes } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'

export const DEFAULT_BCRYPT_COST = 12
export const MIN_BCRYPT_COST = 10
const MAX_BCRYPT_COST = 20

const BCRYPT_HASH = /^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$/

/** How passwords are hashed and checked; swap it (for example to count calls in a test). */
export interface PasswordHasher {
  readonly cost: number
  hash: (password: string) => Promise<string>
  /** False, never a throw, for a hash that is not a bcrypt hash. */
  verify: (password: string, hash: string) => Promise<boolean>
  /** True when the hash was made with a lower cost than the configured one. */
  needsRehash: (hash: string) => boolean
  /** A hash of a random password at the configured cost, for unknown usernames. */
  dummyHash: () => Promise<string>
}

/**
 * bcrypt through @node-rs/bcrypt: hashing and verifying run on libuv's thread pool,
 * so a burst of logins never blocks the event loop.
 */
export class BcryptPasswordHasher implements PasswordHasher {
  readonly cost: number
  #dummyHash: Promise<string> | undefined

  constructor (cost = DEFAULT_BCRYPT_COST) {
    if (!Number.isInteger(cost) || cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST) {
      throw new InvalidOptionError(`bcryptCost must be an integer from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}; got ${JSON.stringify(cost)}`)
    }
    this.cost = cost
  }

  async hash (password: string): Promise<string> {
    return await bcryptHash(password, this.cost)
  }

  async verify (password: string, hash: string): Promise<boolean> {
    if (!BCRYPT_HASH.test(hash)) return false
    return await bcryptVerify(password, hash)
  }

  needsRehash (hash: string): boolean {
    const match = BCRYPT_HASH.exec(hash)
    return match === null || Number(match[1]) < this.cost
  }

  async dummyHash (): Promise<string> {
    this.#dummyHash ??= this.hash(randomBytes(32).toString('base64url'))
    return await this.#dummyHash
  }
}
