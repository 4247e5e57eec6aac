// Percentiles and per-kind latency tallies.

export function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

export function summary (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length === 0 ? NaN : sorted[sorted.length - 1] }
}

/** Latencies by request kind, with 5xx by route, socket errors and unexpected answers. */
export class Tally {
  latencies = new Map()
  status5xx = new Map()
  unexpected = new Map()
  socketErrors = 0
  revokedAccepted = 0

  record (kind, route, status, ms, expected) {
    if (!this.latencies.has(kind)) this.latencies.set(kind, [])
    this.latencies.get(kind).push(ms)
    if (status >= 500) this.status5xx.set(route, (this.status5xx.get(route) ?? 0) + 1)
    if (expected !== undefined && status !== expected) {
      const key = `${kind}: ${status} (expected ${expected})`
      this.unexpected.set(key, (this.unexpected.get(key) ?? 0) + 1)
    }
  }

  total5xx () {
    let total = 0
    for (const count of this.status5xx.values()) total += count
    return total
  }
}

export const ms = (value) => Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(1) : value.toFixed(0)
