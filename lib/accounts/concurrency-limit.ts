/**
 * Runs at most `limit` tasks at once; the rest wait their turn in order. bcrypt work
 * goes through one of these so that a burst of logins never fills libuv's thread pool,
 * which the database driver, the file system and DNS lookups share.
 */
export class ConcurrencyLimit {
  readonly #limit: number
  #running = 0
  readonly #waiting: Array<() => void> = []

  constructor (limit: number) {
    this.#limit = limit
  }

  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    else this.#running++
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
