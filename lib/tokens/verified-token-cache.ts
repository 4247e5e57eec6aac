/**
 * Remembers tokens that passed full verification, keyed by the exact token string, so
 * that a client sending the same token again skips the signature and JSON work.
 * Bounded by entry count (oldest evicted first); an entry is never served at or past
 * the moment its token stops being valid, and revocation is checked on every hit by
 * the caller, so the cache can never outlive a revocation.
 */
export class VerifiedTokenCache<Claims> {
  readonly #maxEntries: number
  readonly #entries = new Map<string, { claims: Claims, validUntil: number }>()

  /** `maxEntries` of at least 1; a disabled cache is simply not used. */
  constructor (maxEntries: number) {
    this.#maxEntries = maxEntries
  }

  get size (): number {
    return this.#entries.size
  }

  get (token: string, now: number): Claims | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (now >= entry.validUntil) {
      this.#entries.delete(token)
      return undefined
    }
    return entry.claims
  }

  set (token: string, claims: Claims, validUntil: number): void {
    if (this.#entries.size >= this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string)
    }
    this.#entries.set(token, { claims, validUntil })
  }
}
