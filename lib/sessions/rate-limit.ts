import { type Clock } from '../clock.js'
import { RateLimitedError, withRetryAfter } from '../errors.js'

export interface RateLimitPolicy {
  /** Requests one key may make per window. */
  limit: number
  windowSeconds: number
  /** Keys remembered at most; the oldest windows are forgotten first. */
  maxKeys: number
}

interface Window { startedAt: number, count: number }

/**
 * Fixed-window request counters in this instance's memory, bounded in size: they cap how
 * many writes one session or one client address can cause (refreshes, logouts), not how
 * many guesses an attacker gets (that is the login throttle, kept in the store). With N
 * instances a key can make at most N times the limit.
 */
export class RateLimit {
  readonly #policy: RateLimitPolicy
  readonly #clock: Clock
  readonly #windows = new Map<string, Window>()

  constructor (policy: RateLimitPolicy, clock: Clock) {
    this.#policy = policy
    this.#clock = clock
  }

  /** Counts one request for `key`; throws a 429 with Retry-After when it is over its limit. */
  hit (key: string): void {
    const now = this.#clock.now() / 1000
    const { limit, windowSeconds } = this.#policy
    let window = this.#windows.get(key)
    if (window === undefined || window.startedAt + windowSeconds <= now) {
      window = { startedAt: now, count: 0 }
      this.#windows.delete(key)
      this.#remember(key, window)
    }
    if (window.count >= limit) throw withRetryAfter(new RateLimitedError(), window.startedAt + windowSeconds - now)
    window.count++
  }

  #remember (key: string, window: Window): void {
    // Map order is insertion order: the first entry is the oldest window.
    if (this.#windows.size >= this.#policy.maxKeys) this.#windows.delete(this.#windows.keys().next().value as string)
    this.#windows.set(key, window)
  }
}
