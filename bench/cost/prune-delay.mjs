// Pruning as the sync does it (after every poll), with a fake clock advanced one second
// per event-loop turn, while monitorEventLoopDelay watches the loop: each prune's time
// against how many entries it dropped, and what a prune that drops nothing costs.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { RevocationList } from '../../dist/esm/lib/sessions/revocation-list.js'
import { fillList, TTL_SECONDS } from './mix.mjs'

export async function run ({ n, seconds = TTL_SECONDS + 1 }) {
  const start = Math.floor(Date.now() / 1000)
  // Warm-up on a small list, so that compiling prune is not counted as pruning.
  const warm = fillList(new RevocationList(), 2000, start)
  for (let second = 1; second <= seconds; second++) { warm.prune(start + second); warm.prune(start + second) }
  const list = fillList(new RevocationList(), n, start)
  globalThis.gc()
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  let pruneMs = 0
  let maxPruneMs = 0
  const times = []
  let idleMs = 0
  let idleRuns = 0
  const idleCalls = 100
  for (let second = 1; second <= seconds; second++) {
    await nextTurn()
    const sizeBefore = list.size
    const began = performance.now()
    list.prune(start + second)
    const took = performance.now() - began
    pruneMs += took
    maxPruneMs = Math.max(maxPruneMs, took)
    times.push(took)
    if (list.size === sizeBefore) continue
    // The same second again: nothing is due, the queue looks at its first second only.
    const idleBegan = performance.now()
    for (let i = 0; i < idleCalls; i++) list.prune(start + second)
    idleMs += (performance.now() - idleBegan) / idleCalls
    idleRuns++
  }
  // A few more turns so that the histogram sees the loop after the last prune.
  for (let i = 0; i < 5; i++) await nextTurn()
  histogram.disable()
  return {
    n,
    seconds,
    left: list.size,
    prunes: seconds,
    pruneMsTotal: pruneMs,
    maxPruneMs,
    p99PruneMs: times.sort((a, b) => a - b)[Math.floor(times.length * 0.99)],
    nsPerExpired: pruneMs * 1e6 / (n - list.size),
    expiredPerPrune: (n - list.size) / seconds,
    idlePruneNs: idleMs * 1e6 / idleRuns,
    delayP99Ms: histogram.percentile(99) / 1e6,
    delayMaxMs: histogram.max / 1e6
  }
}
