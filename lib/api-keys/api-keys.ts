import { contextFields, type ActionContext, type ApiKeyRejectionReason, type EmitAuthEvent } from '../audit/auth-events.js'
import { nowSeconds, type Clock } from '../clock.js'
import {
  ApiKeyLimitError, ApiKeyNotFoundError, InvalidApiKeyError, RateLimitedError, RevocationsUnavailableError,
  UserNotFoundError, withRetryAfter
} from '../errors.js'
import type { RevocationList } from '../sessions/revocation-list.js'
import type { ApiKeyRecord, AuthStore, UserRecord } from '../store/ports.js'
import { ApiKeyCache, type CachedApiKey } from './api-key-cache.js'
import { apiKeyIdentity, type ApiKeyIdentity } from './api-key-identity.js'
import type { ResolvedApiKeyOptions } from './api-key-options.js'
import { checkedKeyName, checkedLifetime, checkedRequest, type NewApiKey } from './api-key-request.js'
import { generateKey, generateKeyId, hashKey, isWellFormedKey } from './key-format.js'
import { KeyThrottle } from './key-throttle.js'
import { KeyUsage } from './key-usage.js'
import type { ClaimsForUser } from './session-scope.js'

/** A key as lists show it: never the key, never its hash. Times in seconds. */
export interface ApiKeySummary {
  id: string
  name: string
  /** The prefix and the first characters of the key, so the user can tell which one it is. */
  start: string
  scopes: string[]
  createdAt: number
  /** Null: the key never expires. */
  expiresAt: number | null
  /** To the minute; null while never used. */
  lastUsedAt: number | null
}

/** A key just created: `key` is shown to the user this once, and kept nowhere. */
export interface CreatedApiKey {
  key: string
  apiKey: ApiKeySummary
}

/** Who revoked keys, for the audit event. */
export type ApiKeyRevoker = 'user' | 'admin' | 'password_reset'

export interface ApiKeysParts {
  options: ResolvedApiKeyOptions
  store: Pick<AuthStore, 'apiKeys' | 'users' | 'attempts'>
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
  /** How often recorded uses are written; default one minute. */
  usageFlushIntervalMs?: number | undefined
}

/** The key as lists show it, with a use noted here and not yet written. */
function summaryOf (key: ApiKeyRecord, pendingUse: number | undefined): ApiKeySummary {
  const lastUsedAt = pendingUse !== undefined && (key.lastUsedAt === null || pendingUse > key.lastUsedAt) ? pendingUse : key.lastUsedAt
  return { id: key.id, name: key.name, start: key.start, scopes: [...key.scopes], createdAt: key.createdAt, expiresAt: key.expiresAt, lastUsedAt }
}

/** Why a key found in the store is refused at `now`, or undefined when it is good. */
function refusalOf (key: ApiKeyRecord, user: UserRecord, now: number): ApiKeyRejectionReason | undefined {
  if (key.revokedAt !== null) return 'revoked'
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired'
  return user.disabled ? 'user_disabled' : undefined
}

/**
 * API keys (personal access tokens): created by a user for scripts and integrations, shown
 * once, kept only as a SHA-256; each with a name, scopes from the application's catalogue and
 * an expiry. A request with a key costs a hash and a few Map lookups once the key is cached;
 * a revocation on any instance reaches every cache within the revocation staleness bound, and
 * any change to the user (roles, disabled, logged out everywhere) makes the next request look
 * the key up again. Failed keys are throttled per client address.
 */
export class ApiKeys {
  readonly #parts: ApiKeysParts
  readonly #options: ResolvedApiKeyOptions
  readonly #cache: ApiKeyCache<ApiKeyIdentity>
  readonly #throttle: KeyThrottle
  readonly #usage: KeyUsage

  constructor (parts: ApiKeysParts) {
    this.#parts = parts
    this.#options = parts.options
    this.#cache = new ApiKeyCache({ maxEntries: parts.options.cache.maxEntries, ttlMs: parts.options.cache.ttlSeconds * 1000 })
    this.#throttle = new KeyThrottle(parts.store.attempts, parts.clock, parts.options)
    this.#usage = new KeyUsage({ apiKeys: parts.store.apiKeys, log: parts.log, intervalMs: parts.usageFlushIntervalMs })
  }

  #now (): number {
    return Math.floor(nowSeconds(this.#parts.clock))
  }

  /** Whether a Bearer value is meant as an API key (it has the prefix): it is then never parsed as a JWT. */
  isApiKey (text: string): boolean {
    return text.startsWith(this.#options.prefix)
  }

  /** Every catalogue scope these roles may put into a key. */
  grantableScopes (roles: readonly string[]): string[] {
    return this.#options.catalogue.grantable(roles)
  }

  /**
   * Creates a key for an enabled user: the name, scopes (each in the catalogue, 400, and
   * granted by the user's current roles, 403) and lifetime checked, then stored while the user
   * holds fewer than `maxPerUser` (409 otherwise). 404 for a user unknown or disabled.
   * `context`: the session and address it was created from, for the audit event.
   */
  async create (userId: string, request: NewApiKey, context: ActionContext = {}): Promise<CreatedApiKey> {
    const input = checkedRequest(request)
    const name = checkedKeyName(input.name)
    const lifetime = checkedLifetime(input.expiresIn, this.#options.maxLifetimeSeconds)
    const { users, apiKeys } = this.#parts.store
    const user = await users.findById(userId)
    if (user === undefined || user.disabled) throw new UserNotFoundError()
    const scopes = this.#options.catalogue.checkRequested(input.scopes, user.roles)
    const now = this.#now()
    const { key, hash, start } = generateKey(this.#options.prefix)
    const record: ApiKeyRecord = {
      id: generateKeyId(),
      userId: user.id,
      name,
      hash,
      start,
      scopes,
      createdAt: now,
      expiresAt: lifetime === null ? null : now + lifetime,
      lastUsedAt: null,
      revokedAt: null,
      createdBySession: context.sessionId ?? null
    }
    if (!await apiKeys.insert(record, this.#options.maxPerUser)) {
      // Refused in the same step as the count: tell a user disabled or deleted meanwhile from one at the limit.
      const current = await users.findById(userId)
      if (current === undefined || current.disabled) throw new UserNotFoundError()
      throw new ApiKeyLimitError()
    }
    this.#parts.emit({ type: 'api_key.created', userId: user.id, keyId: record.id, scopes: [...scopes], ...contextFields(context) })
    return { key, apiKey: summaryOf(record, undefined) }
  }

  /** The user's unrevoked keys (expired ones too, until pruned), oldest first. */
  async list (userId: string): Promise<ApiKeySummary[]> {
    const keys = await this.#parts.store.apiKeys.listByUser(userId)
    return keys.map((key) => summaryOf(key, this.#usage.pending(key.id)))
  }

  /** Renames one of the user's keys; 404 for a key unknown, revoked or another user's. */
  async rename (userId: string, id: string, name: string, context: ActionContext = {}): Promise<ApiKeySummary> {
    const checked = checkedKeyName(name)
    const { apiKeys } = this.#parts.store
    if (!await apiKeys.rename(userId, id, checked)) throw new ApiKeyNotFoundError()
    this.#parts.emit({ type: 'api_key.renamed', userId, keyId: id, ...contextFields(context) })
    const renamed = (await apiKeys.listByUser(userId)).find((key) => key.id === id)
    // Revoked between the rename and the read.
    if (renamed === undefined) throw new ApiKeyNotFoundError()
    return summaryOf(renamed, this.#usage.pending(id))
  }

  #revocationExpiry (now: number): number {
    return Math.ceil(now + this.#parts.revocationSeconds)
  }

  #revokedHere (ids: readonly string[], expiresAt: number): void {
    // Applied on this instance at once; others see it at their next sync.
    for (const id of ids) this.#parts.revocations.add({ kind: 'token', subject: id, version: 0, expiresAt })
  }

  /** Revokes one of the user's keys; 404 for a key unknown, already revoked or another user's. */
  async revoke (userId: string, id: string, context: ActionContext = {}, by: ApiKeyRevoker = 'user'): Promise<void> {
    const now = this.#now()
    const expiresAt = this.#revocationExpiry(now)
    if (!await this.#parts.store.apiKeys.revoke(userId, id, now, expiresAt)) throw new ApiKeyNotFoundError()
    this.#revokedHere([id], expiresAt)
    this.#parts.emit({ type: 'api_key.revoked', userId, keyIds: [id], by, ...contextFields(context) })
  }

  /** Revokes every key of the user; how many were. */
  async revokeAll (userId: string, context: ActionContext = {}, by: ApiKeyRevoker = 'user'): Promise<number> {
    const now = this.#now()
    const expiresAt = this.#revocationExpiry(now)
    const ids = await this.#parts.store.apiKeys.revokeAllByUser(userId, now, expiresAt)
    if (ids.length === 0) return 0
    this.#revokedHere(ids, expiresAt)
    this.#parts.emit({ type: 'api_key.revoked', userId, keyIds: ids, by, ...contextFields(context) })
    return ids.length
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
        this.#usage.record(cached, now)
        return cached.identity
      }
      this.#cache.delete(hash)
    }
    return this.#lookUp(key, hash, clientAddress)
  }

  async #reserve (clientAddress: string): Promise<{ takeBack: () => Promise<void> }> {
    const reservation = await this.#throttle.reserve(clientAddress)
    if (reservation.allowed) return reservation
    this.#parts.emit({ type: 'api_key.rejected', userId: undefined, address: clientAddress, reason: 'throttled' })
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
    this.#usage.record(entry, Math.floor(nowMs / 1000))
    this.#cache.set(hash, entry, nowMs)
    return identity
  }

  /** Starts writing key uses once a minute. */
  start (): void {
    this.#usage.start()
  }

  /** Stops the timer and writes the uses not yet written. */
  async stop (): Promise<void> {
    await this.#usage.stop()
  }
}
