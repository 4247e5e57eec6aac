// The run's settings from the command line: `node scripts/scale.mjs [--quick] [--instances N] [--skip-cost]`.
import { parseArgs } from 'node:util'

const USAGE = 'usage: node scripts/scale.mjs [--quick] [--instances N] [--rate requests/s] [--skip-cost]'

export function readSettings (argv) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, instances: { type: 'string' }, rate: { type: 'string' }, 'skip-cost': { type: 'boolean' } } }).values
  } catch (error) {
    throw new Error(`${error.message}\n${USAGE}`)
  }
  const quick = parsed.quick === true
  const instances = Number(parsed.instances ?? 8)
  if (!Number.isInteger(instances) || instances < 2 || instances > 32) throw new Error(`--instances must be a whole number from 2 to 32\n${USAGE}`)
  const rate = Number(parsed.rate ?? 200)
  if (!Number.isFinite(rate) || rate < 10 || rate > 5000) throw new Error(`--rate must be requests per second from 10 to 5000\n${USAGE}`)
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
    probeIntervalMs: 400,
    // The core's defaults, which the instances run with: the pass/fail thresholds follow them.
    syncIntervalMs: 250,
    maxStalenessMs: 1000,
    rampSteps: quick ? [50, 100, 200, 400] : [50, 100, 200, 400, 800],
    rampStepSeconds: quick ? 3 : 5,
    skipCost: parsed['skip-cost'] === true,
    // Connections per instance: eight instances and their LISTEN connections stay well below max_connections (100 by default).
    poolMax: 6,
    bcryptCost: 10
  }
}
