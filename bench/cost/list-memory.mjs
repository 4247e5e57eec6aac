// Heap held by a RevocationList (maps and expiry queues) per live revocation.
import { RevocationList } from '../../dist/esm/lib/sessions/revocation-list.js'
import { fillList } from './mix.mjs'

function heapAfterGc () {
  globalThis.gc(); globalThis.gc()
  return process.memoryUsage().heapUsed
}

export async function run ({ n }) {
  const start = Math.floor(Date.now() / 1000)
  // Warm-up: the code and its shapes, so that the delta is the data.
  fillList(new RevocationList(), 1000, start)
  const before = heapAfterGc()
  const list = fillList(new RevocationList(), n, start)
  const after = heapAfterGc()
  return { n, size: list.size, bytes: after - before, bytesPerRevocation: (after - before) / n }
}
