import t from 'tap'
import type { RevocationQuery } from '../lib/store/ports.js'
import { RevocationList, type StoredRevocation } from '../lib/sessions/revocation-list.js'
import { LATE_GAP_REREAD_MS, RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'

// Ids given up after the gap timeout ("late gaps") and read again every 5 s: what a slow
// store, many far-apart late gaps and a clock stepped back do to the polls.

const FAR = 4_000_000_000
const START_MS = 1_000_000_000

function row (id: number): StoredRevocation {
  return { id, kind: 'token', subject: `jti-${id}`, version: 0, expiresAt: FAR, createdAt: 0 }
}

/** A store whose every query takes `latencyMs` of the injected clock. */
class SlowFeed implements RevocationFeed {
  visible: StoredRevocation[] = []
  latencyMs = 0
  queries: RevocationQuery[] = []
  constructor (readonly clock: { ms: number }) {}

  commitAll (rows: StoredRevocation[]): void {
    this.visible.push(...rows)
    this.visible.sort((a, b) => a.id - b.id)
  }

  list = async ({ afterId, beforeId = Infinity, limit = Infinity }: RevocationQuery): Promise<StoredRevocation[]> => {
    this.queries.push({ afterId, beforeId, limit })
    this.clock.ms += this.latencyMs
    return this.visible.filter((row) => row.id > afterId && row.id < beforeId).slice(0, limit)
  }
}

function setup (pollTimeoutMs = 500): { feed: SlowFeed, list: RevocationList, sync: RevocationSync, clock: { ms: number, now: () => number }, statuses: boolean[] } {
  const clock = { ms: START_MS, now () { return this.ms } }
  const feed = new SlowFeed(clock)
  const list = new RevocationList()
  const statuses: boolean[] = []
  const sync = new RevocationSync({
    feed,
    list,
    clock,
    intervalMs: 100,
    maxStalenessMs: 1000,
    gapTimeoutMs: 5000,
    lateGapRetentionMs: 3_600_000,
    pollTimeoutMs,
    onStatusChange: (healthy) => { statuses.push(healthy) }
  })
  return { feed, list, sync, clock, statuses }
}

/** Rows 1..count except every thousandth: given up on after the gap timeout, each far enough from the next for a query of its own. */
async function farApartLateGaps (feed: SlowFeed, sync: RevocationSync, clock: { ms: number }, count: number): Promise<void> {
  feed.commitAll([row(1)])
  await sync.syncOnce()
  feed.commitAll(Array.from({ length: count * 1000 }, (_, i) => i + 2).filter((id) => id % 1000 !== 0).map(row))
  await sync.syncOnce()
  clock.ms += 6000
  await sync.syncOnce()
}

t.test('re-reading given-up ids spends at most half the poll timeout per poll, new rows first; the rest is read by the next polls', async (t) => {
  const { feed, list, sync, clock } = setup(500)
  await farApartLateGaps(feed, sync, clock, 100)
  // 100 far-apart given-up ids at 20 ms a query: 2 s, four times the poll timeout.
  feed.latencyMs = 20
  clock.ms += LATE_GAP_REREAD_MS
  feed.commitAll([row(100_002)])
  feed.queries = []
  const startedAt = clock.ms
  await sync.syncOnce()
  t.ok(clock.ms - startedAt <= 250 + 20, `one poll took ${clock.ms - startedAt} ms of a 500 ms timeout`)
  t.same(feed.queries[0], { afterId: 100_001, beforeId: Infinity, limit: 500 }, 'new rows are read before the given-up ids')
  t.ok(list.isRevoked({ jti: 'jti-100002' }))
  // The given-up ids commit now: each is read within a few polls, not never.
  feed.commitAll(Array.from({ length: 100 }, (_, i) => row((i + 1) * 1000)))
  for (let i = 0; i < 40; i++) {
    clock.ms += 100
    await sync.syncOnce()
  }
  for (let i = 1; i <= 100; i++) {
    if (!list.isRevoked({ jti: `jti-${i * 1000}` })) t.fail(`id ${i * 1000} was not read`)
  }
  t.ok(sync.isFresh(), 'and every poll stayed in sync')
})

t.test('a pass over the given-up ids cut short by the budget resumes where it stopped, and starts again 5 s after it began', async (t) => {
  const { feed, sync, clock } = setup(500)
  await farApartLateGaps(feed, sync, clock, 30)
  feed.latencyMs = 50
  clock.ms += LATE_GAP_REREAD_MS
  const lateQueries = (): RevocationQuery[] => feed.queries.filter((query) => query.beforeId !== Infinity)
  const read: number[] = []
  for (let i = 0; i < 10; i++) {
    feed.queries = []
    await sync.syncOnce()
    read.push(...lateQueries().map((query) => query.afterId + 1))
  }
  t.same(read, Array.from({ length: 30 }, (_, i) => (i + 1) * 1000), 'each given-up id once, in order, over several polls')
  clock.ms += LATE_GAP_REREAD_MS
  feed.queries = []
  await sync.syncOnce()
  t.same(lateQueries()[0], { afterId: 999, beforeId: 1001, limit: 500 }, 'the next pass starts again from the lowest')
})

t.test('a clock stepped back does not stop the given-up ids from being read', async (t) => {
  const { feed, list, sync, clock } = setup(500)
  await farApartLateGaps(feed, sync, clock, 1)
  clock.ms += LATE_GAP_REREAD_MS
  await sync.syncOnce()
  clock.ms -= 3_600_000
  feed.commitAll([row(1000)])
  await sync.syncOnce()
  clock.ms += 100
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-1000' }), 'read at the next poll, not an hour later')
})
