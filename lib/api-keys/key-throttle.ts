import { nowSeconds, type Clock } from '../clock.js'
import { reserveRequest } from '../login/request-window.js'
import { apiKeyAddressKey } from '../login/throttle-keys.js'
import type { LoginAttemptPort } from '../store/ports.js'

export interface KeyThrottlePolicy {
  /** Failed keys one client address may send per window. */
  failuresPerAddress: number
  windowSeconds: number
  /** Refused addresses this instance remembers (the oldest forgotten first). Default 10000. */
  maxRemembered?: number | undefined
}

/**
 * A lookup may go ahead (a success takes its count back), or the address has used its
 * allowance; `remembered`: this instance already knew (the refusal cost no store call).
 */
export type KeyReservation = { allowed: true, takeBack: () => Promise<void> } | { allowed: false, retryAfter: number, remembered: boolean }

/**
 * Failed API keys per client address, over the store's attempt counters so that every
 * instance sees one count. Each lookup is counted as a failure before it runs (so concurrent
 * guesses count too, and at most the allowance ever reaches the store's keys), and a success
 * takes its count back. A refused address is remembered here until its window ends: a flood
 * from it costs no store call at all.
 */
export class KeyThrottle {
  readonly #attempts: LoginAttemptPort
  readonly #clock: Clock
  readonly #policy: KeyThrottlePolicy
  /** Address key -> the second its window ends. */
  readonly #refused = new Map<string, number>()

  constructor (attempts: LoginAttemptPort, clock: Clock, policy: KeyThrottlePolicy) {
    this.#attempts = attempts
    this.#clock = clock
    this.#policy = policy
  }

  async reserve (clientAddress: string): Promise<KeyReservation> {
    const key = apiKeyAddressKey(clientAddress)
    const now = Math.floor(nowSeconds(this.#clock))
    const refusedUntil = this.#refused.get(key)
    if (refusedUntil !== undefined) {
      if (now < refusedUntil) return { allowed: false, retryAfter: refusedUntil - now, remembered: true }
      this.#refused.delete(key)
    }
    const limit = { key, limit: this.#policy.failuresPerAddress, windowSeconds: this.#policy.windowSeconds }
    const reservation = await reserveRequest(this.#attempts, limit, now)
    if (reservation.allowed) return reservation
    this.#remember(key, now + reservation.retryAfter)
    return { ...reservation, remembered: false }
  }

  #remember (key: string, until: number): void {
    this.#refused.delete(key)
    this.#refused.set(key, until)
    if (this.#refused.size > (this.#policy.maxRemembered ?? 10_000)) this.#refused.delete(this.#refused.keys().next().value as string)
  }
}
