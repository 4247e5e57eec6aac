import type { Clock } from 'fastify-token-auth'

/** A clock the test moves: starts at the real time, then only changes when told. */
export class TestClock implements Clock {
  #ms: number

  constructor (startMs = Date.now()) {
    this.#ms = startMs
  }

  now (): number {
    return this.#ms
  }

  set (ms: number): void {
    this.#ms = ms
  }

  advance (ms: number): void {
    this.#ms += ms
  }
}
