import type { Clock } from '../../lib/clock.js'

/** A clock the test moves by hand, so lockouts end without sleeping. */
export class FakeClock implements Clock {
  #ms: number

  constructor (ms = Date.UTC(2030, 0, 1)) {
    this.#ms = ms
  }

  now (): number {
    return this.#ms
  }

  advance (seconds: number): void {
    this.#ms += seconds * 1000
  }
}
