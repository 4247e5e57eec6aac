import { contextFields, type ActionContext } from '../audit/auth-events.js'
import { nowSeconds } from '../clock.js'
import { ApiKeyLimitError, ApiKeyNotFoundError, TokenRevokedError, UserNotFoundError } from '../errors.js'
import { RateLimit } from '../sessions/rate-limit.js'
import type { ApiKeyRecord } from '../store/ports.js'
import type { ApiKeyIdentity } from './api-key-identity.js'
import type { ResolvedApiKeyOptions } from './api-key-options.js'
import { checkedKeyName, checkedLifetime, checkedRequest, type NewApiKey } from './api-key-request.js'
import { KeyAuthenticator, type ApiKeysParts } from './key-authenticator.js'
import { generateKey, generateKeyId } from './key-format.js'

export type { ApiKeysParts } from './key-authenticator.js'

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

/**
 * Where a key is created from: the session and address (for the audit event) and, when an
 * access token asked, its token version: the key is kept only if both still hold in the store.
 */
export interface ApiKeyCreationContext extends ActionContext {
  tokenVersion?: number | undefined
}

/**
 * Creations and renames one user may make per minute on one instance. Revocations are not
 * counted: each needs a key created first, and a user must always be able to revoke a key
 * (someone with a stolen token could otherwise spend the allowance to keep theirs alive).
 */
export const KEY_CHANGES_PER_MINUTE = 30

/** Who revoked keys, for the audit event. */
export type ApiKeyRevoker = 'user' | 'admin' | 'password_reset' | 'token_revoked'

/** The key as lists show it, with a use noted here and not yet written. */
function summaryOf (key: ApiKeyRecord, pendingUse: number | undefined): ApiKeySummary {
  const lastUsedAt = pendingUse !== undefined && (key.lastUsedAt === null || pendingUse > key.lastUsedAt) ? pendingUse : key.lastUsedAt
  return { id: key.id, name: key.name, start: key.start, scopes: [...key.scopes], createdAt: key.createdAt, expiresAt: key.expiresAt, lastUsedAt }
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
  readonly #authenticator: KeyAuthenticator
  /** Key changes per user and minute on this instance: each revocation is held in memory on every instance for a while. */
  readonly #writes: RateLimit

  constructor (parts: ApiKeysParts) {
    this.#parts = parts
    this.#options = parts.options
    this.#authenticator = new KeyAuthenticator(parts)
    this.#writes = new RateLimit({ limit: KEY_CHANGES_PER_MINUTE, windowSeconds: 60, maxKeys: 100_000 }, parts.clock)
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
   * Every catalogue scope the user's roles, as stored now, may put into a key: what `create`
   * checks against (a token's `roles` claim may be older, or absent with the application's
   * claims). None for a user unknown.
   */
  async grantableScopesOf (userId: string): Promise<string[]> {
    const user = await this.#parts.store.users.findById(userId)
    return user === undefined ? [] : this.grantableScopes(user.roles)
  }

  /**
   * Creates a key for an enabled user: the name, scopes (each in the catalogue, 400, and
   * granted by the user's current roles, 403) and lifetime checked, then stored while the user
   * holds fewer than `maxPerUser` (409 otherwise). 404 for a user unknown or disabled.
   * `context`: the session and address it was created from, for the audit event.
   */
  async create (userId: string, request: NewApiKey, context: ApiKeyCreationContext = {}): Promise<CreatedApiKey> {
    this.#countChange(userId, context)
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
    await this.#confirmCreator(record, context)
    this.#parts.emit({ type: 'api_key.created', userId: user.id, keyId: record.id, scopes: [...scopes], ...contextFields(context) })
    return { key, apiKey: summaryOf(record, undefined) }
  }

  /**
   * After the insert, the token that asked must still be good in the store: this instance's
   * view of revocations may lag (up to revocation.maxStaleness), and a key outlives the
   * token that made it. A user revocation (a password reset, logging out everywhere) raises
   * the token version before the reset revokes the user's keys, so a key inserted before the
   * raise is revoked by it and one inserted after is revoked here; an ended session is
   * checked the same way. Refused: the key is revoked and the request gets 401.
   */
  async #confirmCreator (record: ApiKeyRecord, context: ApiKeyCreationContext): Promise<void> {
    const { tokenVersion, sessionId } = context
    // Created by the application itself (no token asked): nothing to confirm.
    if (tokenVersion === undefined) return
    const { users, families } = this.#parts.store
    const user = await users.findById(record.userId)
    const versionHolds = user?.tokenVersion === tokenVersion
    const sessionHolds = sessionId === undefined || (await families.listByUser(record.userId, this.#now())).some((family) => family.id === sessionId)
    if (user !== undefined && !user.disabled && versionHolds && sessionHolds) return
    const now = this.#now()
    const expiresAt = this.#revocationExpiry(now)
    if (await this.#parts.store.apiKeys.revoke(record.userId, record.id, now, expiresAt)) {
      this.#revokedHere([record.id], expiresAt)
      // A revoked token trying to make a key is what an audit log is for.
      this.#parts.emit({ type: 'api_key.revoked', userId: record.userId, keyIds: [record.id], by: 'token_revoked', ...contextFields(context) })
    }
    throw new TokenRevokedError()
  }

  /**
   * Counts a creation or rename a user makes from a request (the context names its session or
   * address; the application's own calls name neither): 429 past KEY_CHANGES_PER_MINUTE.
   */
  #countChange (userId: string, context: ActionContext): void {
    if (context.sessionId !== undefined || context.address !== undefined) this.#writes.hit(userId)
  }

  /** The user's unrevoked keys (expired ones too, until pruned), oldest first. */
  async list (userId: string): Promise<ApiKeySummary[]> {
    const keys = await this.#parts.store.apiKeys.listByUser(userId)
    return keys.map((key) => summaryOf(key, this.#authenticator.usage.pending(key.id)))
  }

  /** Renames one of the user's keys; 404 for a key unknown, revoked or another user's. */
  async rename (userId: string, id: string, name: string, context: ActionContext = {}): Promise<ApiKeySummary> {
    this.#countChange(userId, context)
    const checked = checkedKeyName(name)
    const { apiKeys } = this.#parts.store
    if (!await apiKeys.rename(userId, id, checked)) throw new ApiKeyNotFoundError()
    this.#parts.emit({ type: 'api_key.renamed', userId, keyId: id, ...contextFields(context) })
    const renamed = (await apiKeys.listByUser(userId)).find((key) => key.id === id)
    // Revoked between the rename and the read.
    if (renamed === undefined) throw new ApiKeyNotFoundError()
    return summaryOf(renamed, this.#authenticator.usage.pending(id))
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
   * Who a request presenting `key` from `clientAddress` acts for: the identity itself when the
   * key is cached (no I/O), a Promise otherwise (see KeyAuthenticator.authenticate). Every
   * refusal is the same 401 InvalidApiKeyError; 429 past the address's allowance; 503 (thrown
   * at once) while revocations cannot be trusted.
   */
  authenticate (key: string, clientAddress: string): ApiKeyIdentity | Promise<ApiKeyIdentity> {
    return this.#authenticator.authenticate(key, clientAddress)
  }

  /** Starts writing key uses once a minute. */
  start (): void {
    this.#authenticator.usage.start()
  }

  /** Stops the timer and writes the uses not yet written. */
  async stop (): Promise<void> {
    await this.#authenticator.usage.stop()
  }
}
