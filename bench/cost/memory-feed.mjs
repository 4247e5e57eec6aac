// The memory store's revocation feed: what one poll with nothing new costs (list after the
// last id), with N revocations stored. Its list() walks the map from the first id.
import { createMemoryStore } from '../../dist/esm/lib/store/memory-store.js'
import { mixedRevocation } from './mix.mjs'

export async function run ({ n }) {
  const store = createMemoryStore()
  const start = Math.floor(Date.now() / 1000)
  for (let i = 0; i < n; i++) await store.revocations.append(mixedRevocation(i, start), start)
  const calls = 20
  await store.revocations.list({ afterId: n, limit: 500 })
  const began = performance.now()
  for (let i = 0; i < calls; i++) await store.revocations.list({ afterId: n, limit: 500 })
  return { n, emptyPollMs: (performance.now() - began) / calls }
}
