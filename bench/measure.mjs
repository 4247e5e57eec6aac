// Shared measuring helpers: rates over fixed slices of time, medians of interleaved rounds.

export function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function callsIn (fn, ms) {
  let calls = 0
  const start = performance.now()
  const end = start + ms
  let now = start
  while (now < end) {
    for (let i = 0; i < 20; i++) fn()
    calls += 20
    now = performance.now()
  }
  return calls / ((now - start) / 1000)
}

/**
 * Runs every contender for a slice of `ms` milliseconds, round after round, so that a
 * slow moment of the (shared, virtual) machine hits all contenders alike, and keeps each
 * one's median rate in calls per second. Each contender is warmed up first.
 */
export function interleaved (contenders, rounds, ms) {
  for (const fn of Object.values(contenders)) callsIn(fn, 150)
  const samples = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(contenders)) samples[name].push(callsIn(fn, ms))
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}

/** Cumulative CPU time (user + system) of a process, in microseconds, from /proc (Linux). */
export async function processCpuMicros (pid) {
  const { readFile } = await import('node:fs/promises')
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks.
  const ticks = Number(fields[11]) + Number(fields[12])
  return ticks * (1_000_000 / 100)
}
