import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt'
import { randomBytes } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { ConcurrencyLimit } from './concurrency-limit.js'
import { shownValue } from '../shown-value.js'

export const DEFAULT_BCRYPT_COST = 12
export const MIN_BCRYPT_COST = 10
// bcrypt's own floor: a hash in about a millisecond, for test suites that log in a lot.
const MIN_TEST_BCRYPT_COST = 4
const MAX_BCRYPT_COST = 20

/**
 * Checks a bcrypt cost: 10 to 20, or down to 4 when NODE_ENV is 'test' (fast tests; such
 * hashes would fall to an offline guesser anywhere else).
 */
export function checkBcryptCost (cost: unknown, name: string, nodeEnv = process.env.NODE_ENV): number {
  if (!Number.isInteger(cost) || (cost as number) < MIN_TEST_BCRYPT_COST || (cost as number) > MAX_BCRYPT_COST) {
    throw new InvalidOptionError(`${name} must be an integer from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST} (from ${MIN_TEST_BCRYPT_COST} when NODE_ENV is 'test'); got ${shownValue(cost)}`)
  }
  if ((cost as number) < MIN_BCRYPT_COST && nodeEnv !== 'test') {
    throw new InvalidOptionError(`${name} ${String(cost)} is below ${MIN_BCRYPT_COST}, which only tests may use: it is accepted when NODE_ENV is 'test' (NODE_ENV is ${nodeEnv === undefined ? 'not set' : JSON.stringify(nodeEnv)})`)
  }
  return cost as number
}

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
 * bcrypt computations at once: all of libuv's thread pool (UV_THREADPOOL_SIZE threads,
 * 4 by default) but one, so that the database driver, the file system and DNS lookups
 * always have a thread instead of queueing behind a burst of logins.
 */
export function defaultBcryptConcurrency (): number {
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4
  return Math.max(1, poolSize - 1)
}

/**
 * bcrypt computations that may wait for a thread before further ones are refused with
 * LoginBusyError (503): with 3 threads at cost 12 (about 4 verifies/s each) a full queue
 * clears in about 5 s, so no login ever waits longer than that behind a flood.
 */
export const DEFAULT_BCRYPT_QUEUE = 64

/**
 * bcrypt through @node-rs/bcrypt: hashing and verifying run on libuv's thread pool, so a
 * burst of logins never blocks the event loop, and at most `maxConcurrency` at once, so
 * it never takes the whole pool either; at most `maxQueue` more wait, the rest are
 * refused at once with LoginBusyError (503, Retry-After).
 */
export class BcryptPasswordHasher implements PasswordHasher {
  readonly cost: number
  readonly #limit: ConcurrencyLimit
  #dummyHash: Promise<string> | undefined

  constructor (cost = DEFAULT_BCRYPT_COST, maxConcurrency = defaultBcryptConcurrency(), maxQueue = DEFAULT_BCRYPT_QUEUE) {
    checkBcryptCost(cost, 'bcryptCost')
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new InvalidOptionError(`bcryptConcurrency must be a positive integer; got ${shownValue(maxConcurrency)}`)
    }
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw new InvalidOptionError(`bcryptQueue must be a non-negative integer; got ${shownValue(maxQueue)}`)
    }
    this.cost = cost
    this.#limit = new ConcurrencyLimit(maxConcurrency, maxQueue)
  }

  async hash (password: string): Promise<string> {
    return await this.#limit.run(async () => await bcryptHash(password, this.cost))
  }

  async verify (password: string, hash: string): Promise<boolean> {
    if (!BCRYPT_HASH.test(hash)) return false
    return await this.#limit.run(async () => await bcryptVerify(password, hash))
  }

  needsRehash (hash: string): boolean {
    const match = BCRYPT_HASH.exec(hash)
    return match === null || Number(match[1]) < this.cost
  }

  async dummyHash (): Promise<string> {
    // A refused attempt (busy queue) must not leave a rejected promise cached for good.
    this.#dummyHash ??= this.hash(randomBytes(32).toString('base64url')).catch((error: unknown) => {
      this.#dummyHash = undefined
      throw error
    })
    return await this.#dummyHash
  }
}
