import { toSeconds, type Duration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import { shownValue } from '../shown-value.js'

/** Longest window or lockout: counters idle for longer than this can be pruned. */
export const MAX_THROTTLE_SECONDS = 86400

export interface ThrottleOptions {
  /** Failed logins an account (or one device) may have in the window before it is locked. Default 5. */
  maxAccountFailures?: number | undefined
  /** Failed logins one client address (an IPv6 /64) may have in the window. Default 50. */
  maxAddressFailures?: number | undefined
  /** How long failures are counted, from the first one or from the end of the last lockout. Default '15m'. */
  window?: Duration | undefined
  /** First lockout; each further failure doubles it. Default '30s'. */
  lockout?: Duration | undefined
  /** Longest lockout, so nobody can lock a real user out for longer. Default '15m'. */
  maxLockout?: Duration | undefined
}

export interface ThrottlePolicy {
  readonly maxAccountFailures: number
  readonly maxAddressFailures: number
  readonly windowSeconds: number
  readonly lockoutSeconds: number
  readonly maxLockoutSeconds: number
}

export const THROTTLE_DEFAULTS = Object.freeze({
  maxAccountFailures: 5,
  maxAddressFailures: 50,
  window: '15m',
  lockout: '30s',
  maxLockout: '15m'
} satisfies Required<ThrottleOptions>)

/** A positive integer option, or its default; `name` is how the user wrote it. */
export function positiveInteger (value: unknown, name: string, fallback: number): number {
  const resolved = value ?? fallback
  if (!Number.isInteger(resolved) || (resolved as number) < 1) throw new InvalidOptionError(`${name} must be a positive integer; got ${shownValue(value)}`)
  return resolved as number
}

export function resolveThrottlePolicy (options: ThrottleOptions = {}): ThrottlePolicy {
  const policy = {
    maxAccountFailures: positiveInteger(options.maxAccountFailures, 'throttle.maxAccountFailures', THROTTLE_DEFAULTS.maxAccountFailures),
    maxAddressFailures: positiveInteger(options.maxAddressFailures, 'throttle.maxAddressFailures', THROTTLE_DEFAULTS.maxAddressFailures),
    windowSeconds: toSeconds(options.window ?? THROTTLE_DEFAULTS.window, 'throttle.window', 1, MAX_THROTTLE_SECONDS),
    lockoutSeconds: toSeconds(options.lockout ?? THROTTLE_DEFAULTS.lockout, 'throttle.lockout', 1, MAX_THROTTLE_SECONDS),
    maxLockoutSeconds: toSeconds(options.maxLockout ?? THROTTLE_DEFAULTS.maxLockout, 'throttle.maxLockout', 1, MAX_THROTTLE_SECONDS)
  }
  if (policy.lockoutSeconds > policy.maxLockoutSeconds) throw new InvalidOptionError('throttle.lockout must not be longer than throttle.maxLockout')
  return Object.freeze(policy)
}
