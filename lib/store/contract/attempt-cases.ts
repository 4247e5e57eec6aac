import assert from 'node:assert/strict'
import type { AttemptCounter, AttemptWrite } from '../ports.js'
import { concurrently, NOW, twoConnections, type StoreContractCase } from './case.js'

const counter = (key: string, count: number, at = NOW): AttemptCounter => ({ key, count, windowStartedAt: at, lockedUntil: 0, lastAttemptAt: at })

/** A decide that counts one more attempt on every key and returns the counts it saw. */
const countOne = (keys: readonly string[]) => (current: ReadonlyMap<string, AttemptCounter>): AttemptWrite<number[]> => ({
  write: keys.map((key) => counter(key, (current.get(key)?.count ?? 0) + 1)),
  result: keys.map((key) => current.get(key)?.count ?? 0)
})

const read = async (update: (keys: readonly string[], decide: (current: ReadonlyMap<string, AttemptCounter>) => AttemptWrite<Map<string, AttemptCounter>>) => Promise<Map<string, AttemptCounter>>, keys: string[]): Promise<Map<string, AttemptCounter>> =>
  await update(keys, (current) => ({ write: [], result: new Map(current) }))

export const attemptCases: StoreContractCase[] = [
  {
    name: 'attempts: update reads what earlier updates wrote, never a missing key, and deletes removed keys',
    async run (open) {
      const store = await open()
      const update = store.attempts.update
      assert.deepEqual(await read(update, ['account:alice', 'address:192.0.2.1']), new Map(), 'nothing yet, and reading wrote nothing')
      assert.deepEqual(await read(update, ['account:alice']), new Map())
      assert.equal(await update([], (current) => ({ write: [], result: current.size })), 0)
      const locked: AttemptCounter = { key: 'account:alice', count: 0, windowStartedAt: NOW, lockedUntil: NOW + 60, lastAttemptAt: NOW }
      const result = await update(['account:alice', 'address:192.0.2.1'], () => ({ write: [locked, counter('address:192.0.2.1', 3)], result: 'written' }))
      assert.equal(result, 'written')
      assert.deepEqual(await read(update, ['address:192.0.2.1', 'account:alice', 'account:bob']), new Map([['address:192.0.2.1', counter('address:192.0.2.1', 3)], ['account:alice', locked]]))
      await update(['account:alice', 'address:192.0.2.1'], () => ({ write: [counter('address:192.0.2.1', 4), counter('address:192.0.2.1', 5)], remove: ['account:alice'], result: null }))
      assert.deepEqual(await read(update, ['address:192.0.2.1', 'account:alice']), new Map([['address:192.0.2.1', counter('address:192.0.2.1', 5)]]))
      const long = `device:${'~'.repeat(193)}`
      await update([long], countOne([long]))
      assert.deepEqual(await read(update, [long]), new Map([[long, counter(long, 1)]]), 'keys of 200 printable characters')
    }
  },
  {
    name: 'attempts: 200 concurrent reservations on one key from two connections are all counted',
    async run (open) {
      const stores = await twoConnections(open)
      const { values, errors } = await concurrently(200, async (index) => (await stores[index % 2].attempts.update(['account:alice'], countOne(['account:alice'])))[0])
      assert.deepEqual(errors, [])
      assert.deepEqual(values.sort((a, b) => a - b), Array.from({ length: 200 }, (_, index) => index), 'each saw a different count')
      assert.equal((await read(stores[0].attempts.update, ['account:alice'])).get('account:alice')?.count, 200)
    }
  },
  {
    name: 'attempts: a decide that refuses past a limit lets exactly the limit through, and concurrent updates of overlapping keys in any order all count',
    async run (open) {
      const stores = await twoConnections(open)
      const limit = 10
      const reserve = (current: ReadonlyMap<string, AttemptCounter>): AttemptWrite<boolean> => {
        const count = current.get('address:192.0.2.1')?.count ?? 0
        return count >= limit ? { write: [], result: false } : { write: [counter('address:192.0.2.1', count + 1)], result: true }
      }
      const { values, errors } = await concurrently(60, async (index) => await stores[index % 2].attempts.update(['address:192.0.2.1'], reserve))
      assert.deepEqual(errors, [])
      assert.equal(values.filter(Boolean).length, limit)

      const orders = [['a', 'b', 'c'], ['c', 'b', 'a'], ['b', 'a']]
      const overlapping = await concurrently(60, async (index) => await stores[index % 2].attempts.update(orders[index % 3], countOne(orders[index % 3])))
      assert.deepEqual(overlapping.errors, [])
      const counts = await read(stores[1].attempts.update, ['a', 'b', 'c'])
      assert.deepEqual([...counts.values()].map((found) => [found.key, found.count]).sort(), [['a', 60], ['b', 60], ['c', 40]])
    }
  },
  {
    name: 'attempts: decide gets copies: changing them without returning them stores nothing',
    async run (open) {
      const store = await open()
      await store.attempts.update(['k'], countOne(['k']))
      await store.attempts.update(['k'], (current) => {
        const found = current.get('k') as AttemptCounter
        found.count = 99
        return { write: [], result: undefined }
      })
      const written = counter('k', 5)
      await store.attempts.update(['k'], () => ({ write: [written], result: undefined }))
      written.count = 77
      assert.equal((await read(store.attempts.update, ['k'])).get('k')?.count, 5)
    }
  },
  {
    name: 'attempts: prune deletes counters idle since before the given time',
    async run (open) {
      const store = await open()
      await store.attempts.update(['a', 'b', 'c'], () => ({ write: [counter('a', 1, NOW), counter('b', 1, NOW + 5), counter('c', 1, NOW + 10)], result: undefined }))
      assert.equal(await store.attempts.prune(NOW), 0)
      assert.equal(await store.attempts.prune(NOW + 10), 2)
      assert.deepEqual([...(await read(store.attempts.update, ['a', 'b', 'c'])).keys()], ['c'])
    }
  }
]
