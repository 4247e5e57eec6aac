import { toSeconds, type Duration } from '../duration.js'
import { InvalidOptionError, LoginThrottledError, withRetryAfter } from '../errors.js'
import type { UserStore } from '../stores/user-store.js'
import { clientAddressKey } from './client-address.js'
import { LOGIN_FAILURE_RETENTION_SECONDS } from './housekeeping.js'

export interface ThrottleOptions {
  /** Failed logins an account may have in the window before it is locked. Default 5. */
  maxAccountFailures?: number
  /** Failed logins one client address (an IPv6 /64) may have in the window. Default 50. */
  maxAddressFailures?: number
  /** How long failures are counted. Default '15m'. */
  window?: Duration
  /** First lockout; each further failure doubles it. Default '30s'. */
  lockout?: Duration
  /** Longest lockout, so nobody can lock a real user out for longer. Default '15m'. */
  maxLockout?: Duration
}

export interface ThrottlePolicy {
  maxAccountFailures: number
  maxAddressFailures: number
  windowSeconds: number
  lockoutSeconds: number
  maxLockoutSeconds: number
}

const ACCOUNT = 'account:'
const ADDRESS = 'address:'

function positiveInteger (value: unknown, name: string, fallback: number): number {
  const resolved = value ?? fallback
  if (!Number.isInteger(resolved) || (resolved as number) < 1) throw new InvalidOptionError(`throttle.${name} must be a positive integer; got ${JSON.stringify(value)}`)
  return resolved as number
}

export function resolveThrottlePolicy (options: ThrottleOptions = {}): ThrottlePolicy {
  const policy = {
    maxAccountFailures: positiveInteger(options.maxAccountFailures, 'maxAccountFailures', 5),
    maxAddressFailures: positiveInteger(options.maxAddressFailures, 'maxAddressFailures', 50),
    windowSeconds: toSeconds(options.window ?? '15m', 'throttle.window', 1, LOGIN_FAILURE_RETENTION_SECONDS),
    lockoutSeconds: toSeconds(options.lockout ?? '30s', 'throttle.lockout', 1),
    maxLockoutSeconds: toSeconds(options.maxLockout ?? '15m', 'throttle.maxLockout', 1, LOGIN_FAILURE_RETENTION_SECONDS)
  }
  if (policy.lockoutSeconds > policy.maxLockoutSeconds) throw new InvalidOptionError('throttle.lockout must not be longer than throttle.maxLockout')
  return policy
}

/**
 * Counts failed logins per account and per client address in the store, so every
 * instance sees the same counts. Past the limit a key is locked for a delay that
 * doubles with each further failure, up to maxLockout: attempts during a lockout are
 * refused before any password check (so they neither count nor reveal anything), and
 * the lockout always ends.
 */
export class LoginThrottle {
  readonly #store: UserStore
  readonly #policy: ThrottlePolicy

  constructor (store: UserStore, policy: ThrottlePolicy) {
    this.#store = store
    this.#policy = policy
  }

  #keys (account: string, address: string): string[] {
    return [ACCOUNT + account, ADDRESS + clientAddressKey(address)]
  }

  #lockoutSeconds (excessFailures: number): number {
    return Math.min(this.#policy.lockoutSeconds * 2 ** (excessFailures - 1), this.#policy.maxLockoutSeconds)
  }

  /**
   * Throws a 429 with Retry-After while the account or the address is locked; `now` in
   * seconds. Otherwise tells whether the account has failures on record.
   */
  async assertAllowed (account: string, address: string, now: number): Promise<{ accountHasFailures: boolean }> {
    let retryAfter = 0
    let accountHasFailures = false
    for (const count of await this.#store.loginFailures(this.#keys(account, address))) {
      const isAccount = count.key.startsWith(ACCOUNT)
      if (isAccount) accountHasFailures = true
      const limit = isAccount ? this.#policy.maxAccountFailures : this.#policy.maxAddressFailures
      if (count.failures <= limit) continue
      const lockedUntil = count.lastFailureAt + this.#lockoutSeconds(count.failures - limit)
      retryAfter = Math.max(retryAfter, lockedUntil - now)
    }
    if (retryAfter > 0) throw withRetryAfter(new LoginThrottledError(), retryAfter)
    return { accountHasFailures }
  }

  async recordFailure (account: string, address: string, now: number): Promise<void> {
    await this.#store.recordLoginFailure(this.#keys(account, address), now, this.#policy.windowSeconds)
  }

  /** A successful login clears the account's count (not the address's: one success must not launder many failures). */
  async recordSuccess (account: string): Promise<void> {
    await this.#store.clearLoginFailures(ACCOUNT + account)
  }
}
