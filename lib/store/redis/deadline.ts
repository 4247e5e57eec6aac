import { systemClock } from '../../clock.js'

/** What a Redis call that never answers is reported as: the cause of the 503. */
export class RedisTimeoutError extends Error {
  constructor (ms: number) {
    super(`Redis did not answer within ${ms} ms`)
    this.name = 'RedisTimeoutError'
  }
}

/**
 * A deadline for one operation from the moment it is made: `race` settles with the
 * promise or rejects when the time is up, whichever comes first. A client with no
 * command timeout keeps a request to a silent server pending forever; the login that
 * made it must not. The time is the system's: the deadline pairs with a real timer, and
 * its remaining time becomes a Redis expiry.
 */
export class Deadline {
  readonly #ms: number
  readonly #at: number

  constructor (ms: number) {
    this.#ms = ms
    this.#at = systemClock.now() + ms
  }

  async race<T> (promise: Promise<T>): Promise<T> {
    // A call abandoned at the deadline may still fail later: nobody is listening then.
    promise.catch(() => {})
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new RedisTimeoutError(this.#ms)) }, Math.max(0, this.#at - systemClock.now()))
    })
    try {
      return await Promise.race([promise, expired])
    } finally {
      clearTimeout(timer)
    }
  }

  remainingMs (): number {
    return this.#at - systemClock.now()
  }

  /** Throws when the time is up: work that waited its turn past the deadline does not start. */
  check (): void {
    if (systemClock.now() >= this.#at) throw new RedisTimeoutError(this.#ms)
  }
}
