import t from 'tap'
import { RevocationList, type StoredRevocation } from '../lib/sessions/revocation-list.js'
import { RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'

// The in-memory revocation list and the poller that keeps it in step with the store.

const FAR = 4_000_000_000

function row (id: number, kind: StoredRevocation['kind'] = 'token', subject = `jti-${id}`, version = 0): StoredRevocation {
  return { id, kind, subject, version, expiresAt: FAR }
}

/** A store whose rows become visible when "committed", in any order. */
class FakeFeed implements RevocationFeed {
  visible: StoredRevocation[] = []
  failing = false
  queries = 0
  commit (...rows: StoredRevocation[]): void {
    this.visible.push(...rows)
    this.visible.sort((a, b) => a.id - b.id)
  }

  async listRevocations ({ afterId, beforeId = Infinity, limit = Infinity }: { afterId: number, beforeId?: number, limit?: number }): Promise<StoredRevocation[]> {
    this.queries++
    if (this.failing) throw new Error('connection refused')
    return this.visible.filter((r) => r.id > afterId && r.id < beforeId).slice(0, limit)
  }
}

function setup (options: { gapTimeoutMs?: number } = {}): { feed: FakeFeed, list: RevocationList, sync: RevocationSync, clock: { now: number }, statuses: boolean[] } {
  const feed = new FakeFeed()
  const list = new RevocationList()
  const clock = { now: 1_000_000 }
  const statuses: boolean[] = []
  const sync = new RevocationSync({
    feed, list, intervalMs: 100, maxStalenessMs: 1000, gapTimeoutMs: options.gapTimeoutMs ?? 30_000, now: () => clock.now, onStatusChange: (healthy) => { statuses.push(healthy) }
  })
  return { feed, list, sync, clock, statuses }
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
  feed.commit(row(3))
  await sync.syncOnce()
  t.notOk(list.isRevoked({ jti: 'jti-2' }))
  feed.commit(row(2))
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-2' }), 'id 2 became visible after id 3 and was not skipped')
})

t.test('an id missing for longer than the gap timeout is given up on (a rolled-back insert)', async (t) => {
  const { feed, sync, clock } = setup({ gapTimeoutMs: 5000 })
  feed.commit(row(1))
  await sync.syncOnce()
  feed.commit(row(3), row(4))
  await sync.syncOnce()
  const before = feed.queries
  await sync.syncOnce()
  t.equal(feed.queries - before, 2, 'while id 2 is missing, the range above the watermark is read again')
  clock.now += 6000
  await sync.syncOnce()
  const settled = feed.queries
  await sync.syncOnce()
  t.equal(feed.queries - settled, 1, 'after the timeout only new rows are read')
})

t.test('a failing store makes the list stale after maxStaleness, and it recovers', async (t) => {
  const { feed, sync, clock, statuses } = setup()
  await sync.syncOnce()
  feed.failing = true
  await sync.syncOnce()
  await sync.syncOnce()
  t.same(statuses, [false], 'one status change per outage, not one per poll')
  clock.now += 999
  t.ok(sync.isFresh(), 'still within the bound')
  clock.now += 2
  t.notOk(sync.isFresh(), 'past the bound: verification must fail closed')
  feed.failing = false
  await sync.syncOnce()
  t.ok(sync.isFresh())
  t.same(statuses, [false, true])
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
  const slow = feed.listRevocations.bind(feed)
  feed.listRevocations = async (query) => { await new Promise((resolve) => setTimeout(resolve, 40)); return await slow(query) }
  const sync = new RevocationSync({ feed, list: new RevocationList(), intervalMs: 5, maxStalenessMs: 1000, gapTimeoutMs: 1000, onStatusChange: () => {} })
  await sync.start()
  await new Promise((resolve) => setTimeout(resolve, 20))
  await sync.stop()
  const queries = feed.queries
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(feed.queries, queries)
})

t.test('start polls on a timer and stop waits for the poll in progress', async (t) => {
  const feed = new FakeFeed()
  const list = new RevocationList()
  const sync = new RevocationSync({ feed, list, intervalMs: 10, maxStalenessMs: 1000, gapTimeoutMs: 1000, onStatusChange: () => {} })
  await sync.start()
  feed.commit(row(1))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(list.isRevoked({ jti: 'jti-1' }), 'picked up by the timer')
  await sync.stop()
  const queries = feed.queries
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(feed.queries, queries, 'no polling after stop')
})
