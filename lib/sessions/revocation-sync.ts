import type { RevocationList, StoredRevocation } from './revocation-list.js'

/** Where revocations come from: the shared store. */
export interface RevocationFeed {
  /** Revocations with afterId < id (< beforeId when given), by ascending id, at most `limit` when given. */
  listRevocations: (query: { afterId: number, beforeId?: number, limit?: number }) => Promise<StoredRevocation[]>
}

export interface RevocationSyncOptions {
  feed: RevocationFeed
  list: RevocationList
  /** Pause between two syncs. */
  intervalMs: number
  /** A sync older than this makes verification fail closed. */
  maxStalenessMs: number
  /** How long a missing id may stay missing before it is taken as a rolled-back insert. */
  gapTimeoutMs: number
  /** Called when a sync fails and when syncing recovers; for logs. */
  onStatusChange: (healthy: boolean, error?: unknown) => void
  now?: () => number
}

const PAGE_SIZE = 500

/**
 * Keeps a RevocationList in step with the store by polling new rows by id.
 *
 * Ids are handed out at insert but rows become visible at commit, so on PostgreSQL or
 * MySQL id 10 can appear after id 11 was read. A plain "id > last seen" poll would skip
 * it forever; this keeps a watermark below which every id is accounted for, re-reads
 * the range above it while an id is missing, and only gives up on an id (a rolled-back
 * insert) after gapTimeoutMs.
 */
export class RevocationSync {
  readonly #options: RevocationSyncOptions
  readonly #now: () => number
  #watermark = 0
  #maxSeen = 0
  readonly #seenAboveWatermark = new Set<number>()
  #gap: { id: number, noticedAt: number } | undefined
  #lastSyncStartedAt = Number.NEGATIVE_INFINITY
  #healthy = true
  #bootstrapped = false
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #running: Promise<void> | undefined

  constructor (options: RevocationSyncOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  /** True when the last successful sync started recently enough to trust the list. */
  isFresh (now = this.#now()): boolean {
    return now - this.#lastSyncStartedAt <= this.#options.maxStalenessMs
  }

  #apply (revocation: StoredRevocation): void {
    if (revocation.id <= this.#watermark || this.#seenAboveWatermark.has(revocation.id)) return
    this.#options.list.add(revocation)
    this.#seenAboveWatermark.add(revocation.id)
    if (revocation.id > this.#maxSeen) this.#maxSeen = revocation.id
  }

  async #readNewRows (): Promise<void> {
    const { feed } = this.#options
    if (this.#watermark + this.#seenAboveWatermark.size < this.#maxSeen) {
      const gapRows = await feed.listRevocations({ afterId: this.#watermark, beforeId: this.#maxSeen })
      for (const row of gapRows) this.#apply(row)
    }
    let page: StoredRevocation[]
    do {
      page = await feed.listRevocations({ afterId: this.#maxSeen, limit: PAGE_SIZE })
      for (const row of page) this.#apply(row)
    } while (page.length === PAGE_SIZE)
  }

  #advanceWatermark (startedAt: number): void {
    const seen = this.#seenAboveWatermark
    if (!this.#bootstrapped) {
      // Ids missing from the first read were pruned long ago, not in flight.
      this.#bootstrapped = true
      this.#watermark = this.#maxSeen
      seen.clear()
    }
    for (;;) {
      while (seen.delete(this.#watermark + 1)) this.#watermark++
      if (this.#watermark >= this.#maxSeen) {
        this.#gap = undefined
        return
      }
      const missingId = this.#watermark + 1
      if (this.#gap?.id !== missingId) this.#gap = { id: missingId, noticedAt: startedAt }
      if (startedAt - this.#gap.noticedAt < this.#options.gapTimeoutMs) return
      this.#watermark = Math.min(...seen) - 1
    }
  }

  /** One poll; resolves when the list is up to date with what the store had at its start. */
  async syncOnce (): Promise<void> {
    const startedAt = this.#now()
    try {
      await this.#readNewRows()
      this.#advanceWatermark(startedAt)
      this.#lastSyncStartedAt = startedAt
      this.#options.list.prune(startedAt / 1000)
      if (!this.#healthy) {
        this.#healthy = true
        this.#options.onStatusChange(true)
      }
    } catch (error) {
      if (this.#healthy) {
        this.#healthy = false
        this.#options.onStatusChange(false, error)
      }
    }
  }

  /** First sync (awaited), then one every intervalMs until stop(). */
  async start (): Promise<void> {
    await this.syncOnce()
    this.#schedule()
  }

  #schedule (): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.syncOnce().then(() => this.#schedule())
    }, this.#options.intervalMs)
    this.#timer.unref()
  }

  /** Stops polling and waits for a poll in progress, so nothing touches the store afterwards. */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }
}
