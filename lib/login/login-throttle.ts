import { nowSeconds, type Clock } from '../clock.js'
import { LoginThrottledError, withRetryAfter } from '../errors.js'
import type { LoginAttemptPort } from '../store/ports.js'
import { releaseAttempt, reserveAttempt, type Reservation } from './attempt-decisions.js'
import type { ThrottlePolicy } from './throttle-policy.js'

/** The keys one attempt is counted on: the account (or a device), and the client address. */
export interface AttemptKeys {
  /**
   * An account key, or a device key for a browser with a valid device token; undefined while
   * no account is named yet (a passkey sign-in with a credential nobody has): the address alone.
   */
  account: string | undefined
  address: string
}

/**
 * Login throttling over the store's atomic counters, so every instance sees the same
 * counts. Every attempt is reserved (counted as a failure) before any lookup or password
 * work, in one atomic step on both keys, so N concurrent guesses count N times; a
 * success takes its own count back. Past the limit a key is locked for a delay that
 * doubles with each further attempt, up to maxLockout; refused attempts count nothing,
 * so every lockout ends.
 */
export class LoginThrottle {
  readonly #attempts: LoginAttemptPort
  readonly #policy: ThrottlePolicy
  readonly #clock: Clock

  constructor (attempts: LoginAttemptPort, policy: ThrottlePolicy, clock: Clock) {
    this.#attempts = attempts
    this.#policy = policy
    this.#clock = clock
  }

  /**
   * Counts the attempt on both keys, or throws LoginThrottledError (429, Retry-After) and
   * counts nothing, after telling `onLocked` the seconds the client is asked to wait.
   */
  async reserve ({ account, address }: AttemptKeys, onLocked: (retryAfter: number) => void): Promise<Reservation> {
    const limits = [
      ...account === undefined ? [] : [{ key: account, limit: this.#policy.maxAccountFailures }],
      { key: address, limit: this.#policy.maxAddressFailures }
    ]
    const now = Math.floor(nowSeconds(this.#clock))
    const result = await this.#attempts.update(limits.map(({ key }) => key), reserveAttempt(limits, now, this.#policy))
    if (!result.reserved) {
      const refused = withRetryAfter(new LoginThrottledError(), result.retryAfter)
      onLocked(Number(refused.headers['retry-after']))
      throw refused
    }
    return result.reservation
  }

  /** Takes back a reservation whose attempt did not guess (it succeeded, or no password was checked). */
  async release (reservation: Reservation): Promise<void> {
    await this.#attempts.update(reservation.keys, releaseAttempt(reservation))
  }
}
