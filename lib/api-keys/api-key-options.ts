import { toSeconds, type Duration } from '../duration.js'
import { MAX_THROTTLE_SECONDS, THROTTLE_DEFAULTS } from '../login/throttle-policy.js'
import { flag, integerInRange } from '../options/option-values.js'
import { checkedPrefix, DEFAULT_API_KEY_PREFIX, keyPattern } from './key-format.js'
import { scopeCatalogueFrom, type ScopeCatalogue, type ScopeGrant } from './scope-catalogue.js'

/** API keys (personal access tokens): absent, they are off. They need a `store`. */
export interface ApiKeyOptions {
  /** What every key starts with, naming the product and environment (secret scanners match it). Default 'fta_live_'. */
  prefix?: string | undefined
  /**
   * The scopes a key may hold, each with the roles that may grant it (`true`: any user).
   * Default none. With scopes, session access tokens carry `scope` too (every scope the user's
   * roles grant), unless `claims()` sets one, so `requireScope` works for both.
   */
  scopes?: Readonly<Record<string, ScopeGrant>> | undefined
  /** Longest lifetime a key may have, and the lifetime of one created without `expiresIn`; null: keys may never expire. Default '365d'. */
  maxLifetime?: Duration | null | undefined
  /** Unrevoked keys one user may hold. Default 50. */
  maxPerUser?: number | undefined
  /** Keys verified recently, remembered by their hash so that a request costs no lookup (revocation-aware). */
  cache?: {
    /** Default 10000; 0: every request looks its key up. */
    maxEntries?: number | undefined
    /** Longest an entry is used before the key is looked up again. Default '60s', at most '1h'. */
    ttl?: Duration | undefined
  } | undefined
  /** Failed keys one client address may send per window; then 429. Default: throttle.maxAddressFailures's default (50). */
  failuresPerAddress?: number | undefined
  /** How long those failures are counted. Default: throttle.window's default ('15m'). */
  window?: Duration | undefined
  /** Routes accept API keys unless their `config.allowApiKeys` is false. Default false: only routes with `allowApiKeys: true`. */
  allowByDefault?: boolean | undefined
}

export interface ResolvedApiKeyOptions {
  prefix: string
  /** What a well-formed key with this prefix looks like (secret scanners can use it). */
  pattern: RegExp
  catalogue: ScopeCatalogue
  /** Null: a key may never expire. */
  maxLifetimeSeconds: number | null
  maxPerUser: number
  cache: { maxEntries: number, ttlSeconds: number }
  failuresPerAddress: number
  windowSeconds: number
  allowByDefault: boolean
}

/** The shortest lifetime a key may be given. */
export const MIN_KEY_LIFETIME_SECONDS = 60
/** Ten years: a key meant to live longer is one that never expires. */
export const MAX_KEY_LIFETIME_SECONDS = 3650 * 86400

function maxLifetime (value: unknown): number | null {
  if (value === null) return null
  return Math.floor(toSeconds((value ?? '365d') as Duration, 'apiKeys.maxLifetime', MIN_KEY_LIFETIME_SECONDS, MAX_KEY_LIFETIME_SECONDS))
}

/** Validates the `apiKeys` option once, at startup; undefined when API keys are off. */
export function resolveApiKeyOptions (options: ApiKeyOptions | undefined): ResolvedApiKeyOptions | undefined {
  if (options === undefined) return undefined
  const prefix = checkedPrefix(options.prefix ?? DEFAULT_API_KEY_PREFIX)
  const cache = options.cache ?? {}
  return {
    prefix,
    pattern: keyPattern(prefix),
    catalogue: scopeCatalogueFrom(options.scopes),
    maxLifetimeSeconds: maxLifetime(options.maxLifetime),
    maxPerUser: integerInRange(options.maxPerUser, 'apiKeys.maxPerUser', 50, 1, 10_000),
    cache: {
      maxEntries: integerInRange(cache.maxEntries, 'apiKeys.cache.maxEntries', 10_000, 0, 10_000_000),
      ttlSeconds: toSeconds(cache.ttl ?? '60s', 'apiKeys.cache.ttl', 1, 3600)
    },
    failuresPerAddress: integerInRange(options.failuresPerAddress, 'apiKeys.failuresPerAddress', THROTTLE_DEFAULTS.maxAddressFailures, 1, 100_000),
    windowSeconds: Math.ceil(toSeconds(options.window ?? THROTTLE_DEFAULTS.window, 'apiKeys.window', 1, MAX_THROTTLE_SECONDS)),
    allowByDefault: flag(options.allowByDefault, 'apiKeys.allowByDefault')
  }
}
