/**
 * Attempts in progress per key on this instance. An attempt beyond the bound is refused
 * before it costs a store call, so a burst from one address or at one account can hold
 * at most a few of this instance's bcrypt threads, however many requests it sends.
 */
export class InFlightLimit {
  readonly #max: number
  readonly #running = new Map<string, number>()

  constructor (max: number) {
    this.#max = max
  }

  /** Takes a slot for `key`; false when it already has `max` attempts in progress. */
  tryAcquire (key: string): boolean {
    const running = this.#running.get(key) ?? 0
    if (running >= this.#max) return false
    this.#running.set(key, running + 1)
    return true
  }

  release (key: string): void {
    const running = (this.#running.get(key) as number) - 1
    if (running === 0) this.#running.delete(key)
    else this.#running.set(key, running)
  }
}
