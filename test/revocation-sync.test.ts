import t from 'tap'
import type { Clock } from '../lib/clock.js'
import { systemClock } from '../lib/clock.js'
import type { RevocationQuery } from '../lib/store/ports.js'
import { RevocationList, type StoredRevocation } from '../lib/sessions/revocation-list.js'
import { LATE_GAP_REREAD_MS, MAX_LATE_GAPS, RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'

// The in-memory revocation list and the poller that keeps it in step with the store.

const FAR = 4_000_000_000
const START_MS = 1_000_000_000

/** A row appended at `createdAt` (seconds); by default long before the tests' clock starts. */
function row (id: number, kind: StoredRevocation['kind'] = 'token', subject = `jti-${id}`, version = 0, createdAt = 0): StoredRevocation {
  return { id, kind, subject, version, expiresAt: FAR, createdAt }
}

/** A row appended at `createdAt` seconds, as an in-flight transaction would be. */
function recent (id: number, createdAt: number): StoredRevocation {
  return row(id, 'token', `jti-${id}`, 0, createdAt)
}

/** A store whose rows become visible when "committed", in any order. */
class FakeFeed implements RevocationFeed {
  visible: StoredRevocation[] = []
  failing = false
  /** While set, queries never settle until release() gives them `late`. */
  hanging = false
  readonly #hung: Array<(rows: StoredRevocation[]) => void> = []
  queries: RevocationQuery[] = []

  commit (...rows: StoredRevocation[]): void {
    this.commitAll(rows)
  }

  commitAll (rows: StoredRevocation[]): void {
    for (const row of rows) this.visible.push(row)
    this.visible.sort((a, b) => a.id - b.id)
  }

  release (late: StoredRevocation[]): void {
    for (const resolve of this.#hung.splice(0)) resolve(late)
  }

  list = async ({ afterId, beforeId = Infinity, limit = Infinity }: RevocationQuery): Promise<StoredRevocation[]> => {
    this.queries.push({ afterId, beforeId, limit })
    if (this.failing) throw new Error('connection refused')
    if (this.hanging) return await new Promise((resolve) => { this.#hung.push(resolve) })
    let low = 0
    let high = this.visible.length
    while (low < high) {
      const middle = (low + high) >> 1
      if (this.visible[middle].id <= afterId) low = middle + 1
      else high = middle
    }
    const found: StoredRevocation[] = []
    for (let i = low; i < this.visible.length && found.length < limit && this.visible[i].id < beforeId; i++) found.push(this.visible[i])
    return found
  }
}

interface Setup { feed: FakeFeed, list: RevocationList, sync: RevocationSync, clock: Clock & { ms: number }, statuses: boolean[] }

function setup (options: { gapTimeoutMs?: number, lateGapRetentionMs?: number, pollTimeoutMs?: number, intervalMs?: number } = {}): Setup {
  const feed = new FakeFeed()
  const list = new RevocationList()
  const clock = { ms: START_MS, now () { return this.ms } }
  const statuses: boolean[] = []
  const sync = new RevocationSync({
    feed,
    list,
    clock,
    intervalMs: options.intervalMs ?? 100,
    maxStalenessMs: 1000,
    gapTimeoutMs: options.gapTimeoutMs ?? 30_000,
    lateGapRetentionMs: options.lateGapRetentionMs ?? 3_600_000,
    pollTimeoutMs: options.pollTimeoutMs,
    onStatusChange: (healthy) => { statuses.push(healthy) }
  })
  return { feed, list, sync, clock, statuses }
}

/** 'settled' when `promise` settles within a generous bound, 'hung' otherwise: tells a hang from a result, times nothing. */
async function settles (promise: Promise<unknown>): Promise<'settled' | 'hung'> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((resolve) => { timer = setTimeout(() => resolve('hung'), 5000) })
  try {
    return await Promise.race([promise.then(() => 'settled' as const), hung])
  } finally {
    clearTimeout(timer)
  }
}

t.test('the list revokes by jti, by session and by user token version', async (t) => {
  const list = new RevocationList()
  list.add(row(1, 'token', 'j1'))
  list.add(row(2, 'session', 's1'))
  list.add(row(3, 'user', 'u1', 3))
  t.ok(list.isRevoked({ sub: 'x', jti: 'j1' }))
  t.ok(list.isRevoked({ sub: 'x', jti: 'j2', sid: 's1' }))
  t.notOk(list.isRevoked({ sub: 'x', jti: 'j2', sid: 's2' }))
  t.ok(list.isRevoked({ sub: 'u1', jti: 'j2', ver: 2 }), 'an older version is revoked')
  t.notOk(list.isRevoked({ sub: 'u1', jti: 'j2', ver: 3 }), 'the current version is not')
  t.ok(list.isRevoked({ sub: 'u1', jti: 'j2' }), 'a token without a version is older than any')
  t.notOk(list.isRevoked({ jti: 'j2' }))
  list.add(row(4, 'user', 'u1', 2))
  t.notOk(list.isRevoked({ sub: 'u1', jti: 'j2', ver: 3 }), 'a lower version arriving late never lowers the bar')
  list.add({ ...row(5, 'token', 'j1'), expiresAt: 10 })
  list.add({ ...row(6, 'session', 's1'), expiresAt: 10 })
  list.prune(FAR - 1)
  t.equal(list.size, 3, 'nothing expired yet (later expiries win)')
  list.prune(FAR)
  t.equal(list.size, 0, 'all gone once expired')
})

t.test('pruning removes what expired, soonest first, and keeps the rest', async (t) => {
  const list = new RevocationList()
  const expiries = [50, 10, 40, 20, 30, 60, 10, 35]
  expiries.forEach((expiresAt, i) => { list.add({ ...row(i, i % 3 === 0 ? 'user' : i % 3 === 1 ? 'token' : 'session', `s-${i}`, 1), expiresAt }) })
  list.prune(9)
  t.equal(list.size, 8, 'nothing expires before 10')
  list.prune(10)
  t.equal(list.size, 6)
  list.prune(34)
  t.equal(list.size, 4)
  t.ok(list.isRevoked({ jti: 's-7' }), 'expiring at 35 it is still there at 34')
  t.ok(list.isRevoked({ sub: 's-0', ver: 0 }) && list.isRevoked({ jti: 's-5', sid: 's-5' }))
  list.prune(35)
  t.notOk(list.isRevoked({ jti: 's-7' }))
  list.prune(60)
  t.equal(list.size, 0)
})

t.test('pruning in steps keeps exactly the revocations not yet expired, whatever order they came in', async (t) => {
  const list = new RevocationList()
  let seed = 7
  const expiries = Array.from({ length: 500 }, () => { seed = (seed * 48271) % 2147483647; return 1000 + (seed % 300) })
  expiries.forEach((expiresAt, i) => { list.add({ ...row(i, 'token', `j${i}`), expiresAt }) })
  for (let now = 990; now <= 1300; now += 7) {
    list.prune(now)
    t.equal(list.size, expiries.filter((expiresAt) => expiresAt > now).length, `at ${now}`)
  }
})

t.test('a revocation re-added with a later expiry is not pruned at the earlier one', async (t) => {
  const list = new RevocationList()
  list.add({ ...row(1, 'token', 'j1'), expiresAt: 10 })
  list.add({ ...row(2, 'session', 's1'), expiresAt: 10 })
  list.add({ ...row(3, 'user', 'u1', 2), expiresAt: 10 })
  list.add({ ...row(4, 'token', 'j1'), expiresAt: 20 })
  list.add({ ...row(5, 'session', 's1'), expiresAt: 20 })
  list.add({ ...row(6, 'user', 'u1', 1), expiresAt: 20 })
  list.add({ ...row(7, 'user', 'u1', 3), expiresAt: 15 })
  list.prune(19)
  t.ok(list.isRevoked({ jti: 'j1' }), 'the token lives to its later expiry')
  t.ok(list.isRevoked({ jti: 'x', sid: 's1' }), 'so does the session')
  t.ok(list.isRevoked({ sub: 'u1', ver: 2 }), 'the user keeps the highest version, with the later expiry')
  t.notOk(list.isRevoked({ sub: 'u1', ver: 3 }))
  list.prune(20)
  t.equal(list.size, 0)
  list.add({ ...row(8, 'token', 'j1'), expiresAt: 30 })
  list.add({ ...row(9, 'user', 'u1', 1), expiresAt: 30 })
  list.prune(25)
  t.equal(list.size, 2, 'revoked again after being pruned, it is kept to its new expiry')
  list.prune(30)
  t.equal(list.size, 0)
  list.add({ ...row(10, 'session', 's2'), expiresAt: 40.5 })
  list.prune(40.4)
  t.equal(list.size, 1, 'an expiry within a second is not pruned before it')
  list.prune(41)
  t.equal(list.size, 0)
})

t.test('the first sync loads every stored revocation', async (t) => {
  const { feed, list, sync } = setup()
  feed.commit(row(5), row(9), row(12))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-5' }) && list.isRevoked({ jti: 'jti-12' }))
  t.ok(sync.isFresh())
})

t.test('later rows are picked up by id, in pages', async (t) => {
  const { feed, list, sync } = setup()
  await sync.syncOnce()
  feed.commit(...Array.from({ length: 1200 }, (_, i) => row(i + 1)))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-1' }) && list.isRevoked({ jti: 'jti-1200' }))
  t.equal(list.size, 1200)
})

t.test('a row committed after a higher id was read is still applied (out-of-order commits)', async (t) => {
  const { feed, list, sync } = setup()
  feed.commit(row(1))
  await sync.syncOnce()
  feed.commit(row(5))
  await sync.syncOnce()
  t.notOk(list.isRevoked({ jti: 'jti-3' }))
  feed.commit(row(3))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-3' }), 'id 3 became visible after id 5 and was not skipped')
  feed.commit(row(2), row(4))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-2' }) && list.isRevoked({ jti: 'jti-4' }), 'both sides of a filled id are still watched')
  const before = feed.queries.length
  await sync.syncOnce()
  t.equal(feed.queries.length - before, 1, 'with every id accounted for, only new rows are read')
})

t.test('a new instance applies a revocation whose id was allocated before it started but committed after', async (t) => {
  const { feed, list, sync, clock } = setup({ gapTimeoutMs: 30_000 })
  const nowSeconds = clock.ms / 1000
  // Id 2 is allocated in a transaction still open while id 3 commits and the instance starts.
  feed.commit(row(1), recent(3, nowSeconds - 1))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-3' }))
  feed.commit(recent(2, nowSeconds - 2))
  clock.ms += 100
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-2' }), 'the late commit is applied, not taken as pruned')
})

t.test('a new instance takes ids missing below a row older than the gap timeout as pruned, and re-reads only above it', async (t) => {
  const { feed, sync, clock } = setup({ gapTimeoutMs: 30_000 })
  const nowSeconds = clock.ms / 1000
  feed.commit(row(5, 'token', 'a', 0, nowSeconds - 31), row(9, 'token', 'b', 0, nowSeconds - 29))
  await sync.syncOnce()
  feed.queries = []
  await sync.syncOnce()
  t.same(feed.queries, [{ afterId: 5, beforeId: 9, limit: 500 }, { afterId: 9, beforeId: Infinity, limit: 500 }], 'ids 6 to 8 may still commit; 1 to 4 cannot')
  clock.ms += 30_000
  await sync.syncOnce()
  await sync.syncOnce()
  feed.queries = []
  await sync.syncOnce()
  t.equal(feed.queries.length, 1, 'after the gap timeout, ids 6 to 8 are read only every 5 s')
})

t.test('an id missing for longer than the gap timeout is then read only every 5 s (a rolled-back insert, or a slow commit)', async (t) => {
  const { feed, sync, clock } = setup({ gapTimeoutMs: 5000 })
  feed.commit(row(1))
  await sync.syncOnce()
  feed.commit(row(3), row(4))
  await sync.syncOnce()
  const before = feed.queries.length
  await sync.syncOnce()
  t.equal(feed.queries.length - before, 2, 'while id 2 is missing, the range around it is read again')
  clock.ms += 6000
  await sync.syncOnce()
  feed.queries = []
  await sync.syncOnce()
  t.same(feed.queries, [{ afterId: 4, beforeId: Infinity, limit: 500 }, { afterId: 1, beforeId: 3, limit: 500 }], 'given up: read once more at the next poll, after the new rows')
  for (let i = 0; i < 4; i++) {
    clock.ms += 1000
    feed.queries = []
    await sync.syncOnce()
    t.same(feed.queries, [{ afterId: 4, beforeId: Infinity, limit: 500 }], 'then only new rows, for the next 5 s')
  }
  clock.ms += LATE_GAP_REREAD_MS - 4000
  feed.queries = []
  await sync.syncOnce()
  t.equal(feed.queries.length, 2, 'and the given-up id again 5 s later')
})

/** Rows 1 and 3, read by two polls: id 2 is missing past the first read, not below the bootstrap's safe point. */
async function missingTwo (feed: FakeFeed, sync: RevocationSync): Promise<void> {
  feed.commit(row(1))
  await sync.syncOnce()
  feed.commit(row(3))
  await sync.syncOnce()
}

t.test('a revocation whose commit comes long after the gap timeout is still applied, within 5 s of a poll', async (t) => {
  const { feed, list, sync, clock } = setup({ gapTimeoutMs: 5000 })
  await missingTwo(feed, sync)
  clock.ms += 60_000
  await sync.syncOnce()
  await sync.syncOnce()
  feed.commit(row(2))
  await sync.syncOnce()
  t.notOk(list.isRevoked({ jti: 'jti-2' }), 'not read between two re-reads of the given-up id')
  clock.ms += LATE_GAP_REREAD_MS
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-2' }), 'read at the next re-read')
  feed.queries = []
  clock.ms += LATE_GAP_REREAD_MS
  await sync.syncOnce()
  t.same(feed.queries, [{ afterId: 3, beforeId: Infinity, limit: 500 }], 'and no longer looked for')
})

t.test('an id given up on is forgotten after lateGapRetentionMs, when no revocation it held could still matter', async (t) => {
  const { feed, list, sync, clock } = setup({ gapTimeoutMs: 5000, lateGapRetentionMs: 60_000 })
  await missingTwo(feed, sync)
  clock.ms += 59_000
  await sync.syncOnce()
  feed.queries = []
  await sync.syncOnce()
  t.equal(feed.queries.length, 2, 'given up after the gap timeout, still looked for')
  clock.ms += LATE_GAP_REREAD_MS
  await sync.syncOnce()
  feed.queries = []
  clock.ms += LATE_GAP_REREAD_MS
  await sync.syncOnce()
  t.same(feed.queries, [{ afterId: 3, beforeId: Infinity, limit: 500 }], 'past the retention, only new rows are read')
  feed.commit(row(2))
  clock.ms += LATE_GAP_REREAD_MS
  await sync.syncOnce()
  t.notOk(list.isRevoked({ jti: 'jti-2' }), 'a commit later than that is not read')
})

t.test('rolled-back inserts cannot grow the polls\' work: at most 100 given-up ranges are kept, the newest', async (t) => {
  const { feed, sync, clock } = setup({ gapTimeoutMs: 5000 })
  // Every thousandth id is rolled back: 150 gaps, each far enough from the next for a query of its own.
  feed.commit(row(1))
  await sync.syncOnce()
  feed.commitAll(Array.from({ length: 150_000 }, (_, i) => i + 2).filter((id) => id % 1000 !== 0).map((id) => row(id)))
  await sync.syncOnce()
  clock.ms += 6000
  await sync.syncOnce()
  feed.queries = []
  clock.ms += LATE_GAP_REREAD_MS
  await sync.syncOnce()
  const spans = feed.queries.filter((query) => query.beforeId !== Infinity)
  t.equal(spans.length, MAX_LATE_GAPS, 'one query for each of 100 given-up ids')
  t.same(spans[0], { afterId: 50_999, beforeId: 51_001, limit: 500 }, 'the newest 100: ids 1,000 to 50,000 are forgotten')
})

t.test('gaps close together are re-read with one query, gaps far apart each with its own', async (t) => {
  const { feed, sync } = setup()
  feed.commit(row(1))
  await sync.syncOnce()
  const ids = Array.from({ length: 2000 }, (_, i) => i + 2).filter((id) => id !== 2 && id !== 10 && id !== 1500)
  feed.commit(...ids.map((id) => row(id)))
  await sync.syncOnce()
  feed.queries = []
  await sync.syncOnce()
  t.same(feed.queries.slice(0, 2), [{ afterId: 1, beforeId: 11, limit: 500 }, { afterId: 1499, beforeId: 1501, limit: 500 }])
})

t.test('a gap with 200,000 ids above it is given up without failing the sync', async (t) => {
  const { feed, list, sync, clock, statuses } = setup({ gapTimeoutMs: 5000 })
  feed.commit(row(1))
  await sync.syncOnce()
  feed.commitAll(Array.from({ length: 200_000 }, (_, i) => row(i + 3)))
  await sync.syncOnce()
  clock.ms += 6000
  await sync.syncOnce()
  await sync.syncOnce()
  t.same(statuses, [], 'every sync succeeded')
  t.ok(sync.isFresh())
  t.equal(list.size, 200_001)
  feed.commit(row(200_003), row(200_004))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-200004' }), 'and new rows still arrive')
})

t.test('a failing store makes the list stale after maxStaleness, and it recovers', async (t) => {
  const { feed, sync, clock, statuses } = setup()
  await sync.syncOnce()
  feed.failing = true
  await sync.syncOnce()
  await sync.syncOnce()
  t.same(statuses, [false], 'one status change per outage, not one per poll')
  clock.ms += 999
  t.ok(sync.isFresh(), 'still within the bound')
  clock.ms += 2
  t.notOk(sync.isFresh(), 'past the bound: verification must fail closed')
  feed.failing = false
  await sync.syncOnce()
  t.ok(sync.isFresh())
  t.same(statuses, [false, true])
})

t.test('a poll that never settles is abandoned after the poll timeout, fails closed, and its late result is ignored', async (t) => {
  const { feed, list, sync, clock, statuses } = setup({ pollTimeoutMs: 20 })
  await sync.syncOnce()
  feed.hanging = true
  t.equal(await settles(sync.syncOnce()), 'settled', 'the hung poll is given up')
  t.same(statuses, [false], 'and counted as a failed sync')
  clock.ms += 1001
  t.notOk(sync.isFresh(), 'verification fails closed meanwhile')
  feed.hanging = false
  feed.commit(row(1))
  await sync.syncOnce()
  t.same(statuses, [false, true])
  t.ok(sync.isFresh() && list.isRevoked({ jti: 'jti-1' }))
  feed.release([row(7, 'token', 'late')])
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(list.isRevoked({ jti: 'late' }), 'what the abandoned query returns later is not applied')
  feed.commit(row(7))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-7' }), 'and it did not move the read position')
})

t.test('a first sync that times out part way resumes where it stopped, and still trusts only old rows', async (t) => {
  const { feed, list, sync, clock } = setup({ pollTimeoutMs: 20 })
  const nowSeconds = clock.ms / 1000
  feed.commit(...Array.from({ length: 600 }, (_, i) => row(i + 1)), recent(602, nowSeconds))
  const listRows = feed.list
  let calls = 0
  feed.list = async (query) => {
    if (++calls === 2) feed.hanging = true
    return await listRows(query)
  }
  t.equal(await settles(sync.syncOnce()), 'settled')
  t.notOk(sync.isFresh(), 'the first page was read, the second hung')
  t.ok(list.isRevoked({ jti: 'jti-500' }))
  feed.hanging = false
  clock.ms += 100
  await sync.syncOnce()
  t.ok(sync.isFresh() && list.isRevoked({ jti: 'jti-602' }))
  feed.commit(recent(601, nowSeconds))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-601' }), 'an id below a recent row is still watched')
})

t.test('start goes on polling while a cold catch-up makes progress, so the instance is ready once in sync', async (t) => {
  const { feed, list, sync } = setup({ pollTimeoutMs: 20 })
  feed.commit(...Array.from({ length: 2000 }, (_, i) => row(i + 1)))
  const listRows = feed.list
  // Every other page hangs: each poll reads one page, then is abandoned at its timeout.
  let calls = 0
  feed.list = async (query) => {
    feed.hanging = ++calls % 2 === 0
    return await listRows(query)
  }
  t.equal(await settles(sync.start()), 'settled')
  t.ok(sync.isFresh(), 'ready means in sync')
  t.ok(list.isRevoked({ jti: 'jti-2000' }), 'every revocation was read')
  feed.hanging = false
  feed.release([])
  await sync.stop()
})

t.test('a revocation added locally takes effect before any sync, and syncing it again changes nothing', async (t) => {
  const { feed, list, sync } = setup()
  await sync.syncOnce()
  list.add(row(1, 'session', 's9'))
  t.ok(list.isRevoked({ jti: 'x', sid: 's9' }))
  feed.commit(row(1, 'session', 's9'))
  await sync.syncOnce()
  t.equal(list.size, 1)
})

t.test('stop during a poll lets it finish and schedules no other', async (t) => {
  const feed = new FakeFeed()
  const fast = feed.list
  feed.list = async (query) => { await new Promise((resolve) => setTimeout(resolve, 40)); return await fast(query) }
  const sync = new RevocationSync({ feed, list: new RevocationList(), clock: systemClock, intervalMs: 5, maxStalenessMs: 1000, gapTimeoutMs: 1000, lateGapRetentionMs: 3_600_000, onStatusChange: () => {} })
  await sync.start()
  await new Promise((resolve) => setTimeout(resolve, 20))
  await sync.stop()
  const queries = feed.queries.length
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(feed.queries.length, queries)
})

t.test('start polls on a timer and stop waits for the poll in progress', async (t) => {
  const feed = new FakeFeed()
  const list = new RevocationList()
  const sync = new RevocationSync({ feed, list, clock: systemClock, intervalMs: 10, maxStalenessMs: 1000, gapTimeoutMs: 1000, lateGapRetentionMs: 3_600_000, onStatusChange: () => {} })
  await sync.start()
  feed.commit(row(1))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(list.isRevoked({ jti: 'jti-1' }), 'picked up by the timer')
  await sync.stop()
  const queries = feed.queries.length
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(feed.queries.length, queries, 'no polling after stop')
})

t.test('while the store hangs, polls still run on schedule, and stop returns without waiting for the hung query', async (t) => {
  const { feed, sync, statuses } = setup({ pollTimeoutMs: 20, intervalMs: 5 })
  feed.hanging = true
  t.equal(await settles(sync.start()), 'settled', 'start gives up on a first sync that hangs')
  const queries = feed.queries.length
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.ok(feed.queries.length > queries, 'the next polls ran although the first never settled')
  t.equal(await settles(sync.stop()), 'settled', 'stop does not wait for a hung query')
  t.same(statuses, [false])
  feed.release([])
})
