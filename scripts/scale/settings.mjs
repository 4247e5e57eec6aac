// The run's settings from the command line: `node scripts/scale.mjs [--quick] [--instances N] [--skip-cost]`.
import { parseArgs } from 'node:util'

const USAGE = 'usage: node scripts/scale.mjs [--quick] [--instances N] [--rate requests/s] [--sync-interval ms] [--max-staleness ms] [--skip-cost]'

export function readSettings (argv) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, instances: { type: 'string' }, rate: { type: 'string' }, 'sync-interval': { type: 'string' }, 'max-staleness': { type: 'string' }, 'skip-cost': { type: 'boolean' } } }).values
  } catch (error) {
    throw new Error(`${error.message}\n${USAGE}`)
  }
  const quick = parsed.quick === true
  const instances = Number(parsed.instances ?? 8)
  if (!Number.isInteger(instances) || instances < 2 || instances > 32) throw new Error(`--instances must be a whole number from 2 to 32\n${USAGE}`)
  const rate = Number(parsed.rate ?? 120)
  if (!Number.isFinite(rate) || rate < 10 || rate > 5000) throw new Error(`--rate must be requests per second from 10 to 5000\n${USAGE}`)
  // The core's defaults unless asked; the pass/fail thresholds follow them.
  const syncIntervalMs = Number(parsed['sync-interval'] ?? 250)
  const maxStalenessMs = Number(parsed['max-staleness'] ?? 1000)
  if (!Number.isInteger(syncIntervalMs) || !Number.isInteger(maxStalenessMs) || syncIntervalMs < 10 || maxStalenessMs <= syncIntervalMs) {
    throw new Error(`--sync-interval and --max-staleness are whole milliseconds, the interval at least 10 and shorter than the staleness\n${USAGE}`)
  }
  return {
    quick,
    instances,
    serverUrl: process.env.SCALE_PG_URL ?? process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    // Mixed traffic: the rate is shared by the virtual users; each logs in once per cycle.
    rate,
    virtualUsers: 16,
    loadSeconds: quick ? 12 : 30,
    idleSeconds: quick ? 4 : 6,
    // A probe revocation started every probeIntervalMs, on the instances in turn.
    probeIntervalMs: 500,
    syncIntervalMs,
    maxStalenessMs,
    rampSteps: quick ? [50, 100, 200, 400] : [50, 100, 200, 400, 800],
    rampStepSeconds: quick ? 3 : 5,
    skipCost: parsed['skip-cost'] === true,
    // Connections per instance: eight instances and their LISTEN connections stay well below max_connections (100 by default).
    poolMax: 6,
    bcryptCost: 10
  }
}
