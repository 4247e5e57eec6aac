import { LoginBusyError, withRetryAfter } from '../errors.js'

/**
 * Runs at most `limit` tasks at once; at most `maxQueue` more wait their turn in order,
 * and any further task is refused at once with LoginBusyError (503, Retry-After 1).
 * bcrypt work goes through one of these so that a burst of logins never fills libuv's
 * thread pool, which the database driver, the file system and DNS lookups share, and
 * never builds a queue that makes every login wait for seconds.
 */
export class ConcurrencyLimit {
  readonly #limit: number
  readonly #maxQueue: number
  #running = 0
  readonly #waiting: Array<() => void> = []

  constructor (limit: number, maxQueue = Number.POSITIVE_INFINITY) {
    this.#limit = limit
    this.#maxQueue = maxQueue
  }

  /** Tasks waiting for a slot. */
  get queued (): number {
    return this.#waiting.length
  }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) {
      if (this.#waiting.length >= this.#maxQueue) throw withRetryAfter(new LoginBusyError(), 1)
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#running++
    }
    try {
      return await task()
    } finally {
      const next = this.#waiting.shift()
      // The slot passes straight to the next task; only when none waits is it freed.
      if (next === undefined) this.#running--
      else next()
    }
  }
}
