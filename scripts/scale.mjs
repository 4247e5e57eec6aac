// `npm run scale`: N instances of the example app (default 8) as separate processes on one
// PostgreSQL, in two phases (revocations by polling, then pushed), each with the same mixed
// traffic and revocation probes; then a refresh ramp and the cost-growth benchmark. Prints
// the tables, writes them to bench/SCALE.md, and exits non-zero when a check fails.
// Options: --quick, --instances N, --rate requests/s, --skip-cost. Database: SCALE_PG_URL or TEST_PG_URL.
import { writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { runCostGrowth } from './scale/cost.mjs'
import { redact, serverVersion } from './scale/database.mjs'
import { killAll } from './scale/instances.mjs'
import { say } from './scale/log.mjs'
import { runPhase } from './scale/phase.mjs'
import { ASK_SPACING_MS, GIVE_UP_MARGIN_MS } from './scale/propagation.mjs'
import { checksList, cpuTable, databaseTable, header, propagationTable, rampTable, trafficTable } from './scale/report.mjs'
import { readSettings } from './scale/settings.mjs'

const REPORT = new URL('../bench/SCALE.md', import.meta.url)
// Databases still to drop, should the run stop early.
const databases = new Set()

async function cleanUp () {
  killAll()
  for (const db of databases) await db.drop().catch((error) => { console.error(`could not drop ${db.name}: ${error.message}`) })
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    say(`${signal}: stopping the instances and dropping the run's databases`)
    cleanUp().finally(() => process.exit(130))
  })
}

function phaseChecks (phase, settings) {
  const { name, tally, propagation, summary } = phase
  const routes5xx = [...tally.status5xx].map(([route, count]) => `${route}: ${count}`).join(', ')
  const unexpected = [...tally.unexpected, ...propagation.probeFailures].map(([what, count]) => `${what} x${count}`).join(', ')
  const limit = phase.push ? 50 : settings.syncIntervalMs + 50
  return [
    [`${name}: 5xx answers`, tally.total5xx() === 0, tally.total5xx() === 0 ? 0 : routes5xx],
    [`${name}: socket errors`, tally.socketErrors === 0, tally.socketErrors],
    [`${name}: revoked tokens accepted`, tally.revokedAccepted + propagation.acceptedRevoked === 0, tally.revokedAccepted + propagation.acceptedRevoked],
    [`${name}: revocations an instance never refused within ${settings.maxStalenessMs + GIVE_UP_MARGIN_MS} ms`, propagation.neverRefused === 0, propagation.neverRefused],
    [`${name}: answers other than expected`, unexpected === '', unexpected === '' ? 'none' : unexpected],
    [`${name}: error lines in the instances' logs from the idle window to the end of the traffic`, phase.errorLines === 0, phase.errorLines + (phase.startupErrorLines > 0 ? ` (and ${phase.startupErrorLines} while starting, not counted)` : '')],
    [`${name}: propagation p99 under ${limit} ms`, summary.count > 0 && summary.p99 < limit, `${summary.p99?.toFixed(1)} ms over ${summary.count} samples`]
  ]
}

// The ramp overloads on purpose: what gave way is reported, not checked.
function rampNotes (ramp) {
  const answers = [...ramp.tally.unexpected].map(([what, count]) => `${what.replace('ramp refresh: ', '')} x${count}`).join(', ')
  const notes = []
  if (answers !== '') notes.push(`answers other than 200: ${answers}`)
  if (ramp.errorLines > 0) notes.push(`${ramp.errorLines} error lines in the instances' logs during the ramp`)
  return notes.length === 0 ? '' : ` Past the sustained rate: ${notes.join('; ')}.`
}

async function main () {
  const settings = readSettings(process.argv.slice(2))
  const startedAt = new Date()
  const loadAtStart = loadavg()[0]
  const pgVersion = await serverVersion(settings.serverUrl)
  say(`scale: ${settings.instances} instances on ${redact(settings.serverUrl)} (${pgVersion})${settings.quick ? ', quick' : ''}`)
  const phases = []
  phases.push(await runPhase('polling', false, settings, databases))
  phases.push(await runPhase('push', true, settings, databases, { ramp: true }))
  const ramp = phases[1].ramp
  const checks = phases.flatMap((phase) => phaseChecks(phase, settings))
  const cost = settings.skipCost ? { ran: false } : await runCostGrowth(settings.quick)
  if (cost.ran) checks.push(['bench/cost-growth.mjs', cost.passed, cost.passed ? 'passed' : `exit ${cost.code}`])
  const seconds = (Date.now() - startedAt.getTime()) / 1000
  const sustained = ramp.sustained === undefined ? 'none (the first step already missed its target)' : `${ramp.sustained.target} refreshes/s (achieved ${ramp.sustained.achieved.toFixed(0)}/s, p99 ${ramp.sustained.p99.toFixed(1)} ms)`
  const sections = [
    header({ settings, startedAt, seconds, pgVersion, loadAtStart }),
    `## Revocation propagation to every other instance\n\nFrom the logout's answer on one instance to the first 401 from each other instance (asked every ${ASK_SPACING_MS} ms): an upper bound.\n\n` + propagationTable(phases),
    '## Database load per instance\n\nFrom `pg_stat_database` for the phase\'s own database (transactions committed and rolled back, rows read and written), divided by the instances.\n\n' + databaseTable(phases),
    '## Mixed traffic\n\n' + trafficTable(phases),
    '## CPU during the mixed traffic\n\nPostgreSQL and anything else on the machine not included; the load average in the header tells of those.\n\n' + cpuTable(phases),
    `## Refreshes per second on PostgreSQL\n\nRefresh-only steps across the instances (after a second's warm-up at the first rate); sustained: the last step at 95 % of its target or more with p99 under twice the first step's.\n\n${rampTable(ramp)}\n\nSustained: ${sustained}.${rampNotes(ramp)}`,
    '## Checks\n\n' + checksList(checks)
  ]
  const markdown = sections.join('\n\n') + '\n' + (cost.ran ? `\n${cost.markdown.trim()}\n` : '')
  await writeFile(REPORT, markdown)
  console.log(`\n${sections.slice(1).join('\n\n')}\n`)
  say(`written to bench/SCALE.md in ${seconds.toFixed(0)} s`)
  return checks.every(([, pass]) => pass)
}

let passed = false
try {
  passed = await main()
} catch (error) {
  console.error(`scale: ${error.stack ?? error}`)
} finally {
  await cleanUp()
}
process.exit(passed ? 0 : 1)
