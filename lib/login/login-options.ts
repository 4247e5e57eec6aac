import { positiveInteger, resolveThrottlePolicy, type ThrottleOptions, type ThrottlePolicy } from './throttle-policy.js'

export interface PasswordLoginOptions {
  /** HMAC-SHA256 key of device tokens, at least 32 bytes, or a list (issued under the first, accepted under each). Required. */
  deviceTokenKey: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** Counting and locking of attempts (see ThrottleOptions for the defaults). */
  throttle?: ThrottleOptions | undefined
  /** Attempts for one account (or one device) in progress at once on this instance; more get 429 at once. Default 2. */
  maxInFlightPerAccount?: number | undefined
  /** Attempts from one client address in progress at once on this instance; more get 429 at once. Default 8. */
  maxInFlightPerAddress?: number | undefined
}

export interface ResolvedLoginOptions {
  readonly throttle: ThrottlePolicy
  readonly maxInFlightPerAccount: number
  readonly maxInFlightPerAddress: number
}

export const IN_FLIGHT_DEFAULTS = Object.freeze({ maxInFlightPerAccount: 2, maxInFlightPerAddress: 8 })

export function resolveLoginOptions (options: PasswordLoginOptions): ResolvedLoginOptions {
  return Object.freeze({
    throttle: resolveThrottlePolicy(options.throttle),
    maxInFlightPerAccount: positiveInteger(options.maxInFlightPerAccount, 'maxInFlightPerAccount', IN_FLIGHT_DEFAULTS.maxInFlightPerAccount),
    maxInFlightPerAddress: positiveInteger(options.maxInFlightPerAddress, 'maxInFlightPerAddress', IN_FLIGHT_DEFAULTS.maxInFlightPerAddress)
  })
}
