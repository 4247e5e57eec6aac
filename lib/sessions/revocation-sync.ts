import type { Clock } from '../clock.js'
import type { RevocationPort, StoredRevocation } from '../store/ports.js'
import type { RevocationList } from './revocation-list.js'

/** Where revocations come from: the store's revocation feed. */
export interface RevocationFeed {
  list: RevocationPort['list']
}

export interface RevocationSyncOptions {
  feed: RevocationFeed
  list: RevocationList
  clock: Clock
  /** Pause between the end of one poll and the start of the next. */
  intervalMs: number
  /** A sync older than this makes verification fail closed. */
  maxStalenessMs: number
  /**
   * How long a missing id may stay missing before it is taken as a rolled-back insert:
   * longer than any transaction that appends a revocation, plus clock skew between instances.
   */
  gapTimeoutMs: number
  /**
   * How long an id given up on is still looked for, every LATE_GAP_REREAD_MS: as long as
   * a revocation it could hold still matters (the longest lifetime of a revocation, plus
   * margins), so that a commit held up past gapTimeoutMs is still read. 0: never.
   */
  lateGapRetentionMs: number
  /**
   * A poll that has not settled after this long is abandoned and counts as a failed sync;
   * stop() never waits longer. Default: half of maxStalenessMs, at most 5 s.
   */
  pollTimeoutMs?: number | undefined
  /** Called when a sync fails and when syncing recovers; for logs. */
  onStatusChange: (healthy: boolean, error?: unknown) => void
}

const PAGE_SIZE = 500
const MAX_DEFAULT_POLL_TIMEOUT_MS = 5000
/** How often ids given up on are read again: what a late commit waits at most, beyond a poll. */
export const LATE_GAP_REREAD_MS = 5000
/**
 * The given-up ranges kept, the newest: each costs a query per re-read, so a run of
 * rolled-back inserts cannot grow the polls' work without bound.
 */
export const MAX_LATE_GAPS = 100

/** Ids from..to (inclusive) were missing when first read, at noticedAt (ms). */
interface Gap {
  from: number
  to: number
  noticedAt: number
}

/**
 * One poll; `abandoned` once it timed out, so that nothing it reads later is applied;
 * `synced` once the list is in sync (what follows is the late gaps' re-read).
 */
interface Poll {
  abandoned: boolean
  synced: boolean
}

/**
 * Keeps a RevocationList in step with the store by polling new rows by id.
 *
 * Ids are handed out at insert but rows become visible at commit, so on PostgreSQL or
 * MySQL id 10 can appear after id 11 was read. A plain "id > last seen" poll would skip
 * it forever. This remembers the ids it has not seen below the highest one it has, as
 * ranges, re-reads them on every poll, and gives up on one (a rolled-back insert) only
 * after gapTimeoutMs. A given-up id is not forgotten: it is read again every
 * LATE_GAP_REREAD_MS for lateGapRetentionMs, so a revocation whose commit was held up
 * (a synchronous standby away) still reaches this instance while its tokens could live.
 *
 * A new instance cannot tell an id pruned long ago from one still in flight, so its first
 * read trusts only rows older than gapTimeoutMs: an id missing below such a row was
 * allocated before it, too long ago to commit now. Ids missing above it are ordinary gaps.
 */
export class RevocationSync {
  readonly #options: RevocationSyncOptions
  readonly #pollTimeoutMs: number
  /** The highest id read. */
  #maxSeen = 0
  /** Missing ids below maxSeen, ascending and disjoint. */
  #gaps: Gap[] = []
  /** Gaps older than gapTimeoutMs, still looked for now and then; ascending and disjoint. */
  #lateGaps: Gap[] = []
  /** When the last full pass over the late gaps began. */
  #lateGapsReadAt = Number.NEGATIVE_INFINITY
  /** A pass over the late gaps in progress: the ids up to this one are read. */
  #latePass: { startedAt: number, readTo: number } | undefined
  /** Until the first read reached the end of the feed: when it started, and the highest id it may trust. */
  #bootstrap: { startedAt: number, trustedId: number } | undefined
  #bootstrapped = false
  #lastSyncStartedAt = Number.NEGATIVE_INFINITY
  #healthy = true
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  /** The polls in progress (one, or more in a row when woken meanwhile). */
  #running: Promise<void> | undefined
  #started = false
  #wakeRequested = false

  constructor (options: RevocationSyncOptions) {
    this.#options = options
    this.#pollTimeoutMs = options.pollTimeoutMs ?? Math.min(options.maxStalenessMs / 2, MAX_DEFAULT_POLL_TIMEOUT_MS)
  }

  /** True when the last successful sync started recently enough to trust the list. */
  isFresh (now = this.#options.clock.now()): boolean {
    return now - this.#lastSyncStartedAt <= this.#options.maxStalenessMs
  }

  #apply (revocation: StoredRevocation, noticedAt: number): void {
    const { id } = revocation
    if (id > this.#maxSeen) {
      if (id > this.#maxSeen + 1) this.#gaps.push({ from: this.#maxSeen + 1, to: id - 1, noticedAt })
      this.#maxSeen = id
    } else if (!fillGap(this.#gaps, id) && !fillGap(this.#lateGaps, id)) {
      return
    }
    this.#options.list.add(revocation)
    const bootstrap = this.#bootstrap
    if (!this.#bootstrapped && bootstrap !== undefined && id > bootstrap.trustedId &&
      (revocation.createdAt + 1) * 1000 <= bootstrap.startedAt - this.#options.gapTimeoutMs) {
      bootstrap.trustedId = id
    }
  }

  /** Reads [afterId + 1, beforeId - 1] in pages, or everything above afterId when beforeId is undefined. */
  async #readRange (poll: Poll, afterId: number, beforeId?: number): Promise<void> {
    let page: StoredRevocation[]
    do {
      page = await this.#readPage(poll, afterId, beforeId)
      if (page.length > 0) afterId = page[page.length - 1].id
    } while (page.length === PAGE_SIZE)
  }

  /** Reads and applies one page of [afterId + 1, beforeId - 1]. */
  async #readPage (poll: Poll, afterId: number, beforeId?: number): Promise<StoredRevocation[]> {
    const { feed, clock } = this.#options
    const page = await feed.list(beforeId === undefined ? { afterId, limit: PAGE_SIZE } : { afterId, beforeId, limit: PAGE_SIZE })
    // Timers run only between awaits: checked here, nothing of an abandoned poll is applied.
    if (poll.abandoned) throw new Error('abandoned poll')
    const noticedAt = clock.now()
    for (const row of page) this.#apply(row, noticedAt)
    return page
  }

  /**
   * Re-reads every gap not given up yet. Gaps close to each other share one query (re-reading the rows
   * between them); far apart, each has its own, so rows seen long ago are not read again.
   */
  async #rereadGaps (poll: Poll): Promise<void> {
    for (const [afterId, beforeId] of coveringSpans(this.#gaps)) {
      await this.#readRange(poll, afterId, beforeId)
    }
  }

  async #poll (poll: Poll, startedAt: number): Promise<void> {
    this.#bootstrap ??= { startedAt, trustedId: 0 }
    await this.#rereadGaps(poll)
    await this.#readRange(poll, this.#maxSeen)
    if (!this.#bootstrapped) {
      // Ids missing below a row older than the gap timeout were pruned or rolled back.
      this.#bootstrapped = true
      const trustedId = this.#bootstrap.trustedId
      this.#gaps = this.#gaps.filter((gap) => gap.from > trustedId)
    }
    const hadLateGaps = this.#lateGaps.length > 0
    this.#retireGaps(startedAt)
    this.#lastSyncStartedAt = startedAt
    poll.synced = true
    this.#options.list.prune(startedAt / 1000)
    if (hadLateGaps) await this.#rereadLateGaps(poll, startedAt)
  }

  /**
   * Re-reads the late gaps every LATE_GAP_REREAD_MS, after the rest of the poll, which is
   * then already in sync; gaps given up by this poll are read from the next one on. Up to
   * MAX_LATE_GAPS far-apart ranges are a query each: against a slow store (or a remote
   * feed) they could take longer than the poll timeout, and a pass restarted by every poll
   * would then fail every poll and never read new rows. So a poll reads one page, and more
   * only while within half its timeout; the next polls go on from there. A clock stepped
   * back starts a pass too, rather than none until it has caught up.
   */
  async #rereadLateGaps (poll: Poll, startedAt: number): Promise<void> {
    if (this.#latePass === undefined) {
      const sinceRead = startedAt - this.#lateGapsReadAt
      if (sinceRead >= 0 && sinceRead < LATE_GAP_REREAD_MS) return
      this.#latePass = { startedAt, readTo: 0 }
    }
    const pass = this.#latePass
    // Page by page (close gaps share a span of many pages), from the lowest gap not read yet.
    for (let queried = false; ; queried = true) {
      const span = coveringSpans(this.#lateGaps.filter((gap) => gap.from > pass.readTo))[0]
      if (span === undefined) break
      if (queried && this.#options.clock.now() - startedAt >= this.#pollTimeoutMs / 2) return
      const [afterId, beforeId] = span
      const page = await this.#readPage(poll, afterId, beforeId)
      // A full page may stop short of beforeId: the ids up to its last row are read.
      pass.readTo = page.length === PAGE_SIZE ? page[page.length - 1].id : beforeId - 1
    }
    this.#lateGapsReadAt = pass.startedAt
    this.#latePass = undefined
  }

  /** Gaps missing for gapTimeoutMs become late ones; late ones are dropped after lateGapRetentionMs. */
  #retireGaps (startedAt: number): void {
    const { gapTimeoutMs, lateGapRetentionMs } = this.#options
    const retired = this.#gaps.filter((gap) => startedAt - gap.noticedAt >= gapTimeoutMs)
    if (retired.length === 0 && this.#lateGaps.length === 0) return
    this.#gaps = this.#gaps.filter((gap) => startedAt - gap.noticedAt < gapTimeoutMs)
    const late = [...this.#lateGaps, ...retired]
      .filter((gap) => startedAt - gap.noticedAt < lateGapRetentionMs)
      .sort((a, b) => a.from - b.from)
    // Ids grow with time: the highest ranges are the newest.
    this.#lateGaps = late.slice(Math.max(0, late.length - MAX_LATE_GAPS))
  }

  /**
   * One poll; resolves when the list is up to date with what the store had at its start,
   * or after pollTimeoutMs, when the poll is abandoned (what it reads later is ignored).
   */
  async syncOnce (): Promise<void> {
    const startedAt = this.#options.clock.now()
    const poll: Poll = { abandoned: false, synced: false }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => {
        poll.abandoned = true
        reject(new Error(`revocation sync did not finish within ${this.#pollTimeoutMs} ms`))
      }, this.#pollTimeoutMs)
      timer.unref()
    })
    let failure: { error: unknown } | undefined
    try {
      await Promise.race([this.#poll(poll, startedAt), timeout])
    } catch (error) {
      poll.abandoned = true
      // Cut short while re-reading the late gaps, the poll still synced the list (it is
      // fresh) and the next one goes on with them: reporting a failure would announce 503s
      // that do not happen.
      if (!poll.synced) failure = { error }
    } finally {
      clearTimeout(timer)
    }
    if (failure === undefined && !this.#healthy) {
      this.#healthy = true
      this.#options.onStatusChange(true)
    } else if (failure !== undefined && this.#healthy) {
      this.#healthy = false
      this.#options.onStatusChange(false, failure.error)
    }
  }

  /**
   * First sync, then one every intervalMs until stop(). A cold instance facing a long list
   * needs several polls (each one abandoned at pollTimeoutMs keeps what it applied): start
   * goes on polling while they make progress, so that the app is ready once in sync rather
   * than answering 503 for seconds. A poll that fails or hangs without progress ends the
   * wait (at most pollTimeoutMs): the timer carries on, failing closed meanwhile.
   */
  async start (): Promise<void> {
    let progressed: boolean
    do {
      const seenBefore = this.#maxSeen
      await this.syncOnce()
      progressed = this.#maxSeen > seenBefore
    } while (!this.#healthy && progressed && !this.#stopped)
    this.#started = true
    this.#schedule()
  }

  /**
   * Polls now instead of at the next tick (a push said the feed grew). Wakes during a
   * poll add exactly one poll after it, however many there were: that poll starts after
   * every announcement it answers. Ignored before start() and after stop(). Freshness
   * still comes only from polls that succeed, so a wake never makes the list trusted.
   */
  wake (): void {
    if (!this.#started || this.#stopped) return
    if (this.#running !== undefined) {
      this.#wakeRequested = true
      return
    }
    this.#cycle()
  }

  /** Polls (again while wakes came in during a poll), then waits a full interval for the next. */
  #cycle (): void {
    clearTimeout(this.#timer)
    this.#running = (async () => {
      do {
        this.#wakeRequested = false
        await this.syncOnce()
      } while (this.#wakeRequested && !this.#stopped)
      this.#running = undefined
      this.#schedule()
    })()
  }

  #schedule (): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => { this.#cycle() }, this.#options.intervalMs)
    this.#timer.unref()
  }

  /**
   * Stops polling and waits for a poll in progress to settle or be abandoned, so it
   * returns within pollTimeoutMs. An abandoned query may still be pending in the store.
   */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }
}

/** The queries (afterId, beforeId) that read `gaps` (ascending): close ones share one. */
function coveringSpans (gaps: readonly Gap[]): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  for (const gap of gaps) {
    const last = spans[spans.length - 1]
    if (last !== undefined && gap.from - last[1] <= PAGE_SIZE) last[1] = gap.to + 1
    else spans.push([gap.from - 1, gap.to + 1])
  }
  return spans
}

/** Takes `id` out of `gaps` (ascending, disjoint); false when it was not in them. */
function fillGap (gaps: Gap[], id: number): boolean {
  let low = 0
  let high = gaps.length - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    const gap = gaps[middle]
    if (id < gap.from) high = middle - 1
    else if (id > gap.to) low = middle + 1
    else {
      const pieces: Gap[] = []
      if (gap.from < id) pieces.push({ from: gap.from, to: id - 1, noticedAt: gap.noticedAt })
      if (id < gap.to) pieces.push({ from: id + 1, to: gap.to, noticedAt: gap.noticedAt })
      gaps.splice(middle, 1, ...pieces)
      return true
    }
  }
  return false
}
