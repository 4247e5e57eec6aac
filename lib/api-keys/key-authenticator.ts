import type { ApiKeyRejectionReason, EmitAuthEvent } from '../audit/auth-events.js'
import type { Clock } from '../clock.js'
import { InvalidApiKeyError, RateLimitedError, RevocationsUnavailableError, withRetryAfter } from '../errors.js'
import type { RevocationList } from '../sessions/revocation-list.js'
import type { ApiKeyRecord, AuthStore, UserRecord } from '../store/ports.js'
import { ApiKeyCache, type CachedApiKey } from './api-key-cache.js'
import { apiKeyIdentity, type ApiKeyIdentity } from './api-key-identity.js'
import type { ResolvedApiKeyOptions } from './api-key-options.js'
import { hashKey, isWellFormedKey } from './key-format.js'
import { KeyThrottle } from './key-throttle.js'
import { KeyUsage } from './key-usage.js'
import type { ClaimsForUser } from './session-scope.js'

/** What API keys are built from: the core shares these (see createApiKeys). */
export interface ApiKeysParts {
  options: ResolvedApiKeyOptions
  store: Pick<AuthStore, 'apiKeys' | 'users' | 'attempts' | 'families'>
  /** This instance's view of revocations, kept in sync with the store. */
  revocations: RevocationList
  /** Whether that view is recent enough to trust (see RevocationSync.isFresh). */
  revocationsFresh: (nowMs: number) => boolean
  /** The core's claims for a user (the application's, or `roles`). */
  claims: ClaimsForUser
  clock: Clock
  emit: EmitAuthEvent
  log: { warn: (details: object, message: string) => void }
  /**
   * How long a key's revocation is kept (seconds): the cache ttl, the revocation staleness bound
   * and the clock tolerance, after which no instance holds a cache entry filled before it.
   */
  revocationSeconds: number
}

/** Why a key found in the store is refused at `now`, or undefined when it is good. */
function refusalOf (key: ApiKeyRecord, user: UserRecord, now: number): ApiKeyRejectionReason | undefined {
  if (key.revokedAt !== null) return 'revoked'
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired'
  return user.disabled ? 'user_disabled' : undefined
}

/**
 * The request path of API keys: a key's identity from the cache (a hash and a few Map lookups,
 * no I/O), or from one lookup under the address throttle. A cached entry never outlives a
 * revocation of its key this instance has synced, and a user revocation (roles, disabled,
 * logged out everywhere) makes the next request read the user again.
 */
export class KeyAuthenticator {
  readonly #parts: ApiKeysParts
  readonly #options: ResolvedApiKeyOptions
  readonly #cache: ApiKeyCache<ApiKeyIdentity>
  readonly #throttle: KeyThrottle
  /** When keys were last used, written in batches. */
  readonly usage: KeyUsage

  constructor (parts: ApiKeysParts) {
    this.#parts = parts
    this.#options = parts.options
    this.#cache = new ApiKeyCache({ maxEntries: parts.options.cache.maxEntries, ttlMs: parts.options.cache.ttlSeconds * 1000 })
    this.#throttle = new KeyThrottle(parts.store.attempts, parts.clock, parts.options)
    this.usage = new KeyUsage({ apiKeys: parts.store.apiKeys, log: parts.log })
  }

  /**
   * Who a request presenting `key` from `clientAddress` acts for. From the cache, at once (no
   * I/O): the identity itself. Otherwise a Promise: the address's allowance reserved (429 past
   * it), the key checked and looked up, and the identity cached. Every refusal is the same 401
   * (InvalidApiKeyError) and counts against the address; 503 while revocations cannot be
   * trusted, like access tokens.
   */
  authenticate (key: string, clientAddress: string): ApiKeyIdentity | Promise<ApiKeyIdentity> {
    const nowMs = this.#parts.clock.now()
    if (!this.#parts.revocationsFresh(nowMs)) throw withRetryAfter(new RevocationsUnavailableError(), 1)
    const hash = hashKey(key)
    const cached = this.#cache.get(hash, nowMs)
    if (cached !== undefined) {
      const now = Math.floor(nowMs / 1000)
      if (cached.expiresAt !== null && cached.expiresAt <= now) return this.#refuseCached(hash, cached, clientAddress, 'expired')
      const revocations = this.#parts.revocations
      if (revocations.isRevoked({ jti: cached.keyId })) return this.#refuseCached(hash, cached, clientAddress, 'revoked')
      // The user changed since (roles, disabled, logged out everywhere): look the key up again.
      if (!revocations.isRevoked({ sub: cached.userId, ver: cached.tokenVersion })) {
        this.usage.record(cached, now)
        return cached.identity
      }
      this.#cache.delete(hash)
    }
    return this.#lookUp(key, hash, clientAddress)
  }

  async #reserve (clientAddress: string): Promise<{ takeBack: () => Promise<void> }> {
    const reservation = await this.#throttle.reserve(clientAddress)
    if (reservation.allowed) return reservation
    // Once per address and window on each instance: a flood of refused requests is not a flood of events.
    if (!reservation.remembered) this.#parts.emit({ type: 'api_key.rejected', userId: undefined, address: clientAddress, reason: 'throttled' })
    throw withRetryAfter(new RateLimitedError(), reservation.retryAfter)
  }

  #reject (clientAddress: string, reason: ApiKeyRejectionReason, key?: { userId: string, keyId: string }): never {
    const known = key === undefined ? { userId: undefined } : { userId: key.userId, keyId: key.keyId }
    this.#parts.emit({ type: 'api_key.rejected', ...known, address: clientAddress, reason })
    throw new InvalidApiKeyError()
  }

  /** A cached key now refused: counted like any failure, with no lookup (the answer is known). */
  async #refuseCached (hash: string, cached: CachedApiKey<ApiKeyIdentity>, clientAddress: string, reason: 'expired' | 'revoked'): Promise<never> {
    this.#cache.delete(hash)
    await this.#reserve(clientAddress)
    this.#reject(clientAddress, reason, cached)
  }

  async #lookUp (key: string, hash: string, clientAddress: string): Promise<ApiKeyIdentity> {
    // The entry ages from before the read: a read that saw the key just before its revocation
    // and returned late (a slow connection) must not outlive the revocation in the cache.
    const readStartedMs = this.#parts.clock.now()
    // Counted before anything is looked at, so concurrent guesses count too; a success takes it back.
    const reservation = await this.#reserve(clientAddress)
    if (!isWellFormedKey(key, this.#options.prefix, this.#options.pattern)) this.#reject(clientAddress, 'malformed')
    const found = await this.#parts.store.apiKeys.findByHash(hash)
    if (found === undefined) this.#reject(clientAddress, 'unknown')
    const { key: record, user } = found
    const nowMs = this.#parts.clock.now()
    const refusal = refusalOf(record, user, Math.floor(nowMs / 1000))
    if (refusal !== undefined) this.#reject(clientAddress, refusal, { userId: user.id, keyId: record.id })
    await reservation.takeBack()
    const identity = apiKeyIdentity(record, user, this.#parts.claims, this.#options.catalogue)
    const entry: CachedApiKey<ApiKeyIdentity> = {
      identity,
      keyId: record.id,
      userId: user.id,
      tokenVersion: user.tokenVersion,
      expiresAt: record.expiresAt,
      lastUsedAt: record.lastUsedAt
    }
    this.usage.record(entry, Math.floor(nowMs / 1000))
    this.#cache.set(hash, entry, readStartedMs)
    return identity
  }
}
