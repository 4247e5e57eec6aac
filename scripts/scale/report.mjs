// The run's tables, for the terminal and bench/SCALE.md.
import { cpus, loadavg, totalmem } from 'node:os'
import { ASK_SPACING_MS, PROBE_WARMUP_MS, PROBES_AT_ONCE } from './propagation.mjs'
import { REQUESTS_PER_CYCLE } from './traffic.mjs'
import { ms, summary } from './stats.mjs'

const row = (cells) => `| ${cells.join(' | ')} |`
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n')
const fixed = (value, digits = 1) => Number.isFinite(value) ? value.toFixed(digits) : '-'

export function header ({ settings, startedAt, seconds, pgVersion, loadAtStart }) {
  const cpu = cpus()
  return [
    `# Scale: ${settings.instances} instances on one PostgreSQL`,
    '',
    `Written by \`npm run scale\`${settings.quick ? ' (--quick)' : ''} on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${seconds.toFixed(0)} s.`,
    '',
    `- Machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}; ${pgVersion}`,
    // Other work on the machine shows here: a 1-minute load above the core count means the numbers measure starvation.
    `- Load average (1 min) at the start ${loadAtStart.toFixed(1)}, at the end ${loadavg()[0].toFixed(1)}, on ${cpu.length} cores`,
    `- ${settings.instances} instances of the example app (separate processes, ${settings.poolMax} database connections each at most, bcrypt cost ${settings.bcryptCost}), driver in one more process, all on this machine`,
    `- Revocation sync interval ${settings.syncIntervalMs} ms, max staleness ${settings.maxStalenessMs} ms${settings.syncIntervalMs === 250 && settings.maxStalenessMs === 1000 ? ' (the core\'s defaults)' : ''}; phases: polling (REVOCATION_PUSH=false), push (true), each with fresh instances on a fresh database`,
    `- Mixed traffic: ${settings.virtualUsers} virtual users at ${settings.rate} requests/s in total for ${settings.loadSeconds} s per phase, users arriving over the first second, each cycle a login, ${REQUESTS_PER_CYCLE - 4} protected GETs, a refresh and a logout (one in five everywhere); a probe revocation started every ${settings.probeIntervalMs} ms from ${PROBE_WARMUP_MS / 1000} s into the traffic (up to ${PROBES_AT_ONCE} at once), its token asked of every other instance every ${ASK_SPACING_MS} ms; idle window ${settings.idleSeconds} s`,
    `- Refresh ramp: ${settings.rampSteps.join(', ')} refreshes/s, ${settings.rampStepSeconds} s each (push phase)`
  ].join('\n')
}

export function propagationTable (phases) {
  return table(['phase', 'revocations', 'samples (revocation x instance)', 'p50 ms', 'p99 ms', 'max ms', 'never refused', 'accepted revoked'],
    phases.map(({ name, propagation: p, summary: s }) => [name, p.revocations, s.count, ms(s.p50), ms(s.p99), ms(s.max), p.neverRefused, p.acceptedRevoked]))
}

const KIND_ORDER = ['login', 'GET bearer', 'GET cookie', 'refresh', 'GET revoked', 'logout', 'logout everywhere']

export function trafficTable (phases) {
  const rows = []
  for (const { name, tally, loadSeconds } of phases) {
    const all = []
    // The order of a user's cycle, the same in every phase.
    const kinds = [...tally.latencies].sort(([a], [b]) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b))
    for (const [kind, latencies] of kinds) {
      all.push(...latencies)
      const s = summary(latencies)
      rows.push([name, kind, s.count, fixed(s.count / loadSeconds), ms(s.p50), ms(s.p99)])
    }
    const s = summary(all)
    rows.push([name, '**all**', s.count, fixed(s.count / loadSeconds), ms(s.p50), ms(s.p99)])
  }
  return table(['phase', 'request', 'count', 'per s', 'p50 ms', 'p99 ms'], rows)
}

export function databaseTable (phases) {
  const rows = []
  for (const { name, idle, load } of phases) {
    rows.push([name, 'idle', fixed(idle.seconds), fixed(idle.transactions), fixed(idle.rowsRead, 0), fixed(idle.rowsWritten)])
    rows.push([name, 'under load', fixed(load.seconds), fixed(load.transactions), fixed(load.rowsRead, 0), fixed(load.rowsWritten)])
  }
  return table(['phase', 'window', 'seconds', 'transactions/s per instance', 'rows read/s per instance', 'rows written/s per instance'], rows)
}

export function cpuTable (phases) {
  return table(['phase', 'instances (cores, all together)', 'driver (cores)'],
    phases.map(({ name, cores }) => [name, fixed(cores.instances, 2), fixed(cores.driver, 2)]))
}

export function rampTable (ramp) {
  return table(['target refreshes/s', 'achieved /s', 'p50 ms', 'p99 ms', 'not 200', 'socket errors'],
    ramp.steps.map((s) => [s.target, fixed(s.achieved, 0), ms(s.p50), ms(s.p99), s.refused, s.socketErrors]))
}

export function checksList (checks) {
  return checks.map(([name, pass, value]) => `- ${pass ? 'pass' : '**FAILED**'}: ${name}: ${value}`).join('\n')
}
