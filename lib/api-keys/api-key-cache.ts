/** What a verified key is remembered by: enough to answer its next use with no I/O. */
export interface CachedApiKey<Identity> {
  /** The frozen identity every request with the key gets. */
  identity: Identity
  keyId: string
  userId: string
  /** The user's token version when the entry was filled: a later user revocation drops it. */
  tokenVersion: number
  /** Seconds; null: the key never expires. */
  expiresAt: number | null
  /** Seconds: the last use recorded for the key (stored, or recorded since); null: never used. */
  lastUsedAt: number | null
}

interface Entry<Identity> {
  key: CachedApiKey<Identity>
  /** Milliseconds: past this the key is looked up again. */
  staleAt: number
}

/**
 * Verified API keys by the SHA-256 of the key, at most `maxEntries` (the oldest filled goes
 * first) and each for at most `ttlMs`: a bound on memory, and on how long a change that
 * reaches instances only through the store (a key's row, a user's roles) goes unseen.
 */
export class ApiKeyCache<Identity> {
  readonly #entries = new Map<string, Entry<Identity>>()
  readonly #maxEntries: number
  readonly #ttlMs: number

  constructor ({ maxEntries, ttlMs }: { maxEntries: number, ttlMs: number }) {
    this.#maxEntries = maxEntries
    this.#ttlMs = ttlMs
  }

  get size (): number {
    return this.#entries.size
  }

  /** The entry for this hash, unless none was filled or it is older than the ttl at `nowMs`. */
  get (hash: string, nowMs: number): CachedApiKey<Identity> | undefined {
    const entry = this.#entries.get(hash)
    if (entry === undefined) return undefined
    if (nowMs < entry.staleAt) return entry.key
    this.#entries.delete(hash)
    return undefined
  }

  set (hash: string, key: CachedApiKey<Identity>, nowMs: number): void {
    if (this.#maxEntries === 0) return
    // Filled again: it moves to the end, as the newest.
    this.#entries.delete(hash)
    this.#entries.set(hash, { key, staleAt: nowMs + this.#ttlMs })
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string)
  }

  delete (hash: string): void {
    this.#entries.delete(hash)
  }
}
