import t from 'tap'
import { createKnexStore } from 'fastify-token-auth/knex'
import type { RevocationQuery } from '../lib/store/ports.js'
import { RevocationList, type StoredRevocation } from '../lib/sessions/revocation-list.js'
import { LATE_GAP_REREAD_MS, RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'
import { TestClock } from './helpers/clock.js'
import { databaseTargets, openDatabase } from './helpers/databases.js'

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
  /** While set, a query for a range (a gap's re-read) never settles until release(). */
  hangRanges = false
  readonly #hung: Array<(rows: StoredRevocation[]) => void> = []
  constructor (readonly clock: { ms: number }) {}

  release (rows: StoredRevocation[]): void {
    for (const resolve of this.#hung.splice(0)) resolve(rows)
  }

  commitAll (rows: StoredRevocation[]): void {
    this.visible.push(...rows)
    this.visible.sort((a, b) => a.id - b.id)
  }

  list = async ({ afterId, beforeId = Infinity, limit = Infinity }: RevocationQuery): Promise<StoredRevocation[]> => {
    this.queries.push({ afterId, beforeId, limit })
    this.clock.ms += this.latencyMs
    if (this.hangRanges && beforeId !== Infinity) return await new Promise((resolve) => { this.#hung.push(resolve) })
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

t.test('given-up ids close together, one query of many pages, are read within the budget too, page by page over the polls', async (t) => {
  const { feed, list, sync, clock } = setup(500)
  // Every 400th id missing: 100 given-up ids sharing one span of 40,000 rows, 80 pages.
  feed.commitAll([row(1)])
  await sync.syncOnce()
  feed.commitAll(Array.from({ length: 40_000 }, (_, i) => i + 2).filter((id) => id % 400 !== 0).map(row))
  await sync.syncOnce()
  clock.ms += 6000
  await sync.syncOnce()
  feed.commitAll(Array.from({ length: 100 }, (_, i) => row((i + 1) * 400)))
  feed.latencyMs = 20
  clock.ms += LATE_GAP_REREAD_MS
  let longest = 0
  for (let i = 0; i < 20; i++) {
    const startedAt = clock.ms
    await sync.syncOnce()
    longest = Math.max(longest, clock.ms - startedAt)
    clock.ms += 100
  }
  t.ok(longest <= 250 + 20, `the longest poll took ${longest} ms of a 500 ms timeout`)
  for (let i = 1; i <= 100; i++) {
    if (!list.isRevoked({ jti: `jti-${i * 400}` })) t.fail(`id ${i * 400} was not read`)
  }
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

t.test('a re-read of given-up ids abandoned at the poll timeout applies nothing, is no failed sync (the list is fresh), and is done again by the next poll', async (t) => {
  const { feed, list, sync, clock, statuses } = setup(50)
  await farApartLateGaps(feed, sync, clock, 2)
  clock.ms += LATE_GAP_REREAD_MS
  feed.hangRanges = true
  // The poll timeout's timer does not hold the process open: this does, while the query hangs.
  const keepAlive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(keepAlive) })
  await sync.syncOnce()
  t.ok(sync.isFresh(), 'the new rows it read before keep the list in sync')
  t.same(statuses, [], 'so it is not reported as a failed sync')
  feed.commitAll([row(1000)])
  feed.release([row(1000)])
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(list.isRevoked({ jti: 'jti-1000' }), 'what the abandoned query returns is not applied')
  feed.hangRanges = false
  feed.queries = []
  await sync.syncOnce()
  t.same(feed.queries.filter((query) => query.beforeId !== Infinity)[0], { afterId: 999, beforeId: 1001, limit: 500 }, 'the pass goes on from the range that hung')
  t.ok(list.isRevoked({ jti: 'jti-1000' }))
  t.same(statuses, [])
})

for (const { name, skip } of databaseTargets().filter((target) => target.name !== 'sqlite')) {
  t.test(`${name}: a revocation whose transaction stays open for minutes past the gap timeout is applied at the next re-read after its commit`, { skip }, async (t) => {
    const db = await openDatabase(t, name)
    const store = createKnexStore({ knex: db.knex, tablePrefix: db.prefix })
    await store.migrate()
    const table = `${db.prefix}revocations`
    const clock = new TestClock()
    const insert = { kind: 'token', version: 0, expires_at: FAR, created_at: Math.floor(clock.now() / 1000) }
    await db.knex(table).insert({ ...insert, subject: 'first' })
    const held = await db.knex.transaction()
    t.teardown(async () => { if (!held.isCompleted()) await held.rollback() })
    await held(table).insert({ ...insert, subject: 'held' })
    // A rolled-back insert and a committed one after it: two missing ids, one of them for good.
    const rolledBack = await db.knex.transaction()
    await rolledBack(table).insert({ ...insert, subject: 'rolled-back' })
    await rolledBack.rollback()
    await db.knex(table).insert({ ...insert, subject: 'after' })

    const list = new RevocationList()
    const statuses: boolean[] = []
    // A generous poll timeout: 600 polls against a busy database must not fail on a slow query.
    const sync = new RevocationSync({ feed: store.revocations, list, clock, intervalMs: 250, maxStalenessMs: 1000, pollTimeoutMs: 10_000, gapTimeoutMs: 30_000, lateGapRetentionMs: 86_400_000, onStatusChange: (healthy) => { statuses.push(healthy) } })
    await sync.syncOnce()
    t.ok(list.isRevoked({ jti: 'first' }) && list.isRevoked({ jti: 'after' }))
    for (let ms = 0; ms < 10 * 60_000; ms += 1000) {
      clock.advance(1000)
      await sync.syncOnce()
    }
    t.notOk(list.isRevoked({ jti: 'held' }), 'still uncommitted after 10 min')
    await held.commit()
    await db.knex(table).insert({ ...insert, subject: 'newer' })
    let waitedMs = 0
    while (!list.isRevoked({ jti: 'held' }) && waitedMs <= LATE_GAP_REREAD_MS) {
      clock.advance(250)
      waitedMs += 250
      await sync.syncOnce()
    }
    t.ok(list.isRevoked({ jti: 'held' }), `applied ${waitedMs} ms after its commit`)
    t.ok(list.isRevoked({ jti: 'newer' }))
    t.same(statuses, [], 'every poll succeeded')
  })
}
