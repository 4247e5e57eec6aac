import t from 'tap'
import { createMemoryStore } from '../lib/store/memory-store.js'

// A poll reads the feed after the last id it has; with a million revocations kept, walking
// them all from the first on every poll blocked the event loop for a sixth of a second.
// Entries the store's maps hand out are counted through Map.prototype.values/entries.

function countMapVisits (): { visited: () => number, restore: () => void } {
  let visited = 0
  const values = Map.prototype.values
  const entries = Map.prototype.entries
  const counting = (original: typeof values | typeof entries) => function (this: Map<unknown, unknown>) {
    const iterator = original.call(this)
    return {
      next () { visited++; return iterator.next() },
      [Symbol.iterator] () { return this }
    }
  }
  /* eslint-disable no-extend-native -- wrapped only around one call, and put back right after it */
  Map.prototype.values = counting(values) as typeof values
  Map.prototype.entries = counting(entries) as typeof entries
  return {
    visited: () => visited,
    restore () {
      Map.prototype.values = values
      Map.prototype.entries = entries
    }
  }
  /* eslint-enable no-extend-native */
}

t.test('reading the revocation feed after an id does not walk the revocations below it', async (t) => {
  const store = createMemoryStore()
  for (let i = 0; i < 1000; i++) await store.revocations.append({ kind: 'token', subject: `jti-${i}`, version: 0, expiresAt: 2000 }, 1000)
  const counter = countMapVisits()
  let found
  try {
    found = await store.revocations.list({ afterId: 998, limit: 500 })
  } finally {
    counter.restore()
  }
  t.same(found.map((revocation) => revocation.subject), ['jti-998', 'jti-999'])
  t.ok(counter.visited() < 10, `visited ${counter.visited()} entries`)
})

t.test('the revocation feed skips pruned ids and stops at beforeId and at the limit', async (t) => {
  const store = createMemoryStore()
  t.same(await store.revocations.list({ afterId: 0 }), [])
  for (let i = 1; i <= 10; i++) await store.revocations.append({ kind: 'token', subject: `jti-${i}`, version: 0, expiresAt: i % 3 === 0 ? 1500 : 2000 }, 1000)
  t.equal(await store.revocations.prune(1500), 3)
  const ids = async (query: Parameters<typeof store.revocations.list>[0]) => (await store.revocations.list(query)).map((revocation) => revocation.id)
  t.same(await ids({ afterId: 0 }), [1, 2, 4, 5, 7, 8, 10])
  t.same(await ids({ afterId: 2, limit: 3 }), [4, 5, 7])
  t.same(await ids({ afterId: 4, beforeId: 8 }), [5, 7])
  t.same(await ids({ afterId: 10 }), [])
  await store.revocations.prune(2000)
  t.same(await ids({ afterId: 0 }), [])
})
