import type { ApiKeyPort } from '../store/ports.js'

/** Uses closer together than this are one use, as far as lastUsedAt goes. */
export const USE_RESOLUTION_SECONDS = 60
/** How often recorded uses are written. */
export const USE_FLUSH_INTERVAL_MS = 60_000

/** A key's last use as its holder knows it (a cache entry, or a row just read); `record` moves it on. */
export interface KnownUse {
  keyId: string
  /** Seconds; null: never used. */
  lastUsedAt: number | null
}

export interface KeyUsageParts {
  apiKeys: Pick<ApiKeyPort, 'recordUse'>
  log: { warn: (details: object, message: string) => void }
  /** Default USE_FLUSH_INTERVAL_MS. */
  intervalMs?: number | undefined
}

/**
 * When each key was last used, to the minute, written in batches: a request only notes the
 * time in memory (and only when the last one known is a minute old), and one `recordUse`
 * a minute writes what was noted. A write that fails is logged and tried again with the
 * next batch; it never reaches a request.
 */
export class KeyUsage {
  readonly #parts: KeyUsageParts
  /** Key id -> the latest use noted since the last write. */
  #pending = new Map<string, number>()
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor (parts: KeyUsageParts) {
    this.#parts = parts
  }

  /** Notes a use at `now` (seconds) unless the last one known is less than a minute older. */
  record (use: KnownUse, now: number): void {
    if (use.lastUsedAt !== null && now - use.lastUsedAt < USE_RESOLUTION_SECONDS) return
    use.lastUsedAt = now
    this.#note(use.keyId, now)
  }

  /** The latest use noted for a key and not yet written, if any. */
  pending (keyId: string): number | undefined {
    return this.#pending.get(keyId)
  }

  #note (keyId: string, at: number): void {
    const noted = this.#pending.get(keyId)
    if (noted === undefined || noted < at) this.#pending.set(keyId, at)
  }

  /** Writes what was noted, in one call; one flush at a time. */
  async flush (): Promise<void> {
    await this.#queueWrite()
  }

  /** Queues a write after the one in progress. It never rejects: a failure is logged. */
  #queueWrite (): Promise<void> {
    this.#flushing = this.#flushing.then(async () => { await this.#write() })
    return this.#flushing
  }

  async #write (): Promise<void> {
    if (this.#pending.size === 0) return
    const batch = this.#pending
    this.#pending = new Map()
    try {
      await this.#parts.apiKeys.recordUse([...batch].map(([id, lastUsedAt]) => ({ id, lastUsedAt })))
    } catch (error) {
      // Put back under what was noted meanwhile, for the next flush.
      for (const [keyId, at] of batch) this.#note(keyId, at)
      this.#parts.log.warn({ err: error, keys: batch.size }, 'recording API key uses failed; will retry')
    }
  }

  start (): void {
    this.#timer = setInterval(() => { this.#queueWrite() }, this.#parts.intervalMs ?? USE_FLUSH_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Stops the timer and writes what is left. */
  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }
}
