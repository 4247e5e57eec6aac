import type { EmitAuthEvent } from '../audit/auth-events.js'
import type { Clock } from '../clock.js'
import type { RevocationList } from '../sessions/revocation-list.js'
import type { AuthStore } from '../store/ports.js'
import type { ResolvedApiKeyOptions } from './api-key-options.js'
import { ApiKeys } from './api-keys.js'
import type { ClaimsForUser } from './session-scope.js'

/** The resolved core options API keys read (ResolvedCoreOptions has them). */
export interface ApiKeyCoreOptions {
  apiKeys: ResolvedApiKeyOptions | undefined
  claims: ClaimsForUser
  revocation: { maxStalenessMs: number }
  clockToleranceSeconds: number
  maxTokenTtlSeconds: number
}

/** What the core shares with its API keys. */
export interface ApiKeysEnvironment {
  store: AuthStore
  revocations: RevocationList
  sync: { isFresh: (nowMs: number) => boolean }
  clock: Clock
  emit: EmitAuthEvent
  log: { warn: (details: object, message: string) => void }
}

/** The core's API keys, when the `apiKeys` option turned them on. */
export function createApiKeys (options: ApiKeyCoreOptions, { sync, ...environment }: ApiKeysEnvironment): ApiKeys | undefined {
  if (options.apiKeys === undefined) return undefined
  // A user revocation (disabled, deleted, a role taken away) reaches cached keys only while it is
  // listed, which is maxTokenTtl from a time read before its write: no entry may live as long,
  // or one filled from a read that began while that write was pending would outlive it. Half
  // leaves the other half for a slow write.
  const ttlSeconds = Math.min(options.apiKeys.cache.ttlSeconds, options.maxTokenTtlSeconds / 2)
  return new ApiKeys({
    ...environment,
    options: { ...options.apiKeys, cache: { ...options.apiKeys.cache, ttlSeconds } },
    revocationsFresh: (nowMs) => sync.isFresh(nowMs),
    claims: options.claims,
    // Past this no instance holds a cache entry filled before the revocation, and the key's row says revoked.
    revocationSeconds: ttlSeconds + options.revocation.maxStalenessMs / 1000 + options.clockToleranceSeconds
  })
}
