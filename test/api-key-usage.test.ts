import t from 'tap'
import type { ApiKeyUse, AuthStore } from 'fastify-token-auth'
import { KeyUsage, type KnownUse } from '../lib/api-keys/key-usage.js'
import { apiKeyCore, authenticated } from './helpers/api-keys.js'

// When a key was last used: noted in memory to the minute, written in batches, never a write per request.

/** Every batch the store was asked to write. */
function recordBatches (store: AuthStore): ApiKeyUse[][] {
  const batches: ApiKeyUse[][] = []
  const recordUse = store.apiKeys.recordUse
  store.apiKeys.recordUse = async (uses) => {
    batches.push(uses.map((use) => ({ ...use })))
    await recordUse(uses)
  }
  return batches
}

t.test('1000 uses of a key are one write, when the core stops', async (t) => {
  const { core, apiKeys, alice, store, clock } = await apiKeyCore(t)
  const { key, apiKey } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const batches = recordBatches(store)
  const now = Math.floor(clock.now() / 1000)
  for (let i = 0; i < 1000; i++) await authenticated(apiKeys, key)
  t.same(batches, [], 'nothing written per request')
  t.equal((await apiKeys.list(alice.id))[0].lastUsedAt, now, 'the list shows the use noted, before it is written')
  await core.stop()
  t.same(batches, [[{ id: apiKey.id, lastUsedAt: now }]])
  t.equal((await store.apiKeys.listByUser(alice.id))[0].lastUsedAt, now)
})

t.test('uses are noted to the minute: a use within a minute of the last known one notes nothing', async (t) => {
  const { core, apiKeys, alice, store, clock } = await apiKeyCore(t, { apiKeys: { cache: { ttl: '1h' } } })
  const { key, apiKey } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const batches = recordBatches(store)
  const start = Math.floor(clock.now() / 1000)
  await authenticated(apiKeys, key)
  clock.advance(59_000)
  await authenticated(apiKeys, key)
  clock.advance(1000)
  await authenticated(apiKeys, key)
  await core.stop()
  t.same(batches, [[{ id: apiKey.id, lastUsedAt: start + 60 }]], 'one batch, holding the latest use')
})

t.test('a key read from the store with a recent use notes nothing more', async (t) => {
  const { apiKeys, alice, store, clock, core } = await apiKeyCore(t, { apiKeys: { cache: { maxEntries: 0 } } })
  const { key, apiKey } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const now = Math.floor(clock.now() / 1000)
  await store.apiKeys.recordUse([{ id: apiKey.id, lastUsedAt: now - 30 }])
  const batches = recordBatches(store)
  await authenticated(apiKeys, key)
  t.equal((await apiKeys.list(alice.id))[0].lastUsedAt, now - 30, 'the stored use is the latest known')
  await core.stop()
  t.same(batches, [])
})

t.test('a use is never lowered: not in memory, not in the list, not in the store', async (t) => {
  const usage = new KeyUsage({ apiKeys: { recordUse: async () => {} }, log: { warn: () => {} } })
  usage.record({ keyId: 'k', lastUsedAt: null }, 2000)
  usage.record({ keyId: 'k', lastUsedAt: null }, 1000)
  t.equal(usage.pending('k'), 2000)
  const { apiKeys, alice, store, clock, core } = await apiKeyCore(t)
  const { key, apiKey } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const now = Math.floor(clock.now() / 1000)
  await authenticated(apiKeys, key)
  // Another instance recorded a later use meanwhile.
  await store.apiKeys.recordUse([{ id: apiKey.id, lastUsedAt: now + 600 }])
  t.equal((await apiKeys.list(alice.id))[0].lastUsedAt, now + 600, 'the later of the stored and the noted')
  await core.stop()
  t.equal((await store.apiKeys.listByUser(alice.id))[0].lastUsedAt, now + 600, 'the batch did not lower it')
})

t.test('a failing write is logged, never thrown, and its uses are written with the next batch', async (t) => {
  const warnings: string[] = []
  const written: ApiKeyUse[][] = []
  let failing = true
  const usage = new KeyUsage({
    apiKeys: {
      recordUse: async (uses) => {
        if (failing) throw new Error('database is down')
        written.push([...uses])
      }
    },
    log: { warn: (_details, message) => { warnings.push(message) } }
  })
  usage.record({ keyId: 'a', lastUsedAt: null }, 1000)
  usage.record({ keyId: 'b', lastUsedAt: null }, 1000)
  await usage.flush()
  t.same(warnings, ['recording API key uses failed; will retry'])
  t.same(written, [])
  usage.record({ keyId: 'a', lastUsedAt: 1000 }, 1100)
  failing = false
  await usage.flush()
  t.same(written, [[{ id: 'a', lastUsedAt: 1100 }, { id: 'b', lastUsedAt: 1000 }]], 'the later use of a, and b put back')
  await usage.flush()
  t.equal(written.length, 1, 'nothing noted: nothing written')
})

t.test('the timer writes every interval, one flush at a time, and stop writes what is left', async (t) => {
  const written: ApiKeyUse[][] = []
  let slow = true
  const usage = new KeyUsage({
    apiKeys: {
      recordUse: async (uses) => {
        written.push([...uses])
        if (slow) await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    log: { warn: () => {} },
    intervalMs: 10
  })
  const use: KnownUse = { keyId: 'a', lastUsedAt: null }
  usage.start()
  usage.record(use, 1000)
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.same(written, [[{ id: 'a', lastUsedAt: 1000 }]], 'written by the timer')
  usage.record(use, 1060)
  slow = false
  await usage.stop()
  t.same(written.at(-1), [{ id: 'a', lastUsedAt: 1060 }], 'written on stop, after the slow write in progress')
  t.equal(written.length, 2)
  t.equal(use.lastUsedAt, 1060)
})
