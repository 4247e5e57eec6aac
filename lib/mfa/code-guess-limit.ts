import { nowSeconds, type Clock } from '../clock.js'
import { LoginThrottledError, withRetryAfter } from '../errors.js'
import { releaseAttempt, reserveAttempt, type Reservation } from '../login/attempt-decisions.js'
import { MAX_THROTTLE_SECONDS, type ThrottlePolicy } from '../login/throttle-policy.js'
import type { LoginAttemptPort } from '../store/ports.js'

/** The counter of one user's wrong TOTP codes from browsers they never signed in from. */
export function codeGuessKey (userId: string): string {
  return `totp:${userId}`
}

/**
 * A daily budget of wrong TOTP codes per user, beside the login throttle. The throttle's
 * lockouts end (so nobody can lock a real user out for long), which lets someone holding the
 * password try a few codes every window forever: hundreds a day, a fair chance in a year
 * against 3 valid codes in a million. Past the budget the user's codes are refused from new
 * browsers for a day (each further wrong code renews it), so guesses grow by about one a day;
 * browsers the user signed in from (a device token) are not counted, and recovery codes
 * and passkeys still work.
 */
export class CodeGuessLimit {
  readonly #attempts: LoginAttemptPort
  readonly #policy: ThrottlePolicy
  readonly #limit: number
  readonly #clock: Clock

  constructor (attempts: LoginAttemptPort, maxFailuresPerDay: number, clock: Clock) {
    this.#attempts = attempts
    this.#limit = maxFailuresPerDay
    // A day's window, and a day's lockout at the limit (the longest a counter is kept).
    this.#policy = { maxAccountFailures: maxFailuresPerDay, maxAddressFailures: maxFailuresPerDay, windowSeconds: MAX_THROTTLE_SECONDS, lockoutSeconds: MAX_THROTTLE_SECONDS, maxLockoutSeconds: MAX_THROTTLE_SECONDS }
    this.#clock = clock
  }

  /** Counts one code check against the user's budget before it runs, or throws 429 (Retry-After) and counts nothing. */
  async reserve (userId: string): Promise<Reservation> {
    const key = codeGuessKey(userId)
    const now = Math.floor(nowSeconds(this.#clock))
    const result = await this.#attempts.update([key], reserveAttempt([{ key, limit: this.#limit }], now, this.#policy))
    if (!result.reserved) throw withRetryAfter(new LoginThrottledError(), result.retryAfter)
    return result.reservation
  }

  /** Takes back a check that was no guess: the code was right, or nothing was checked. */
  async release (reservation: Reservation): Promise<void> {
    await this.#attempts.update(reservation.keys, releaseAttempt(reservation))
  }
}
