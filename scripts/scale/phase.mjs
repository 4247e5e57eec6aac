// One phase: fresh instances on a fresh database, the idle window, then mixed traffic with
// revocation probes (and the refresh ramp when asked), everything stopped and dropped after.
import { coresUsed, cpuSnapshot } from './cpu.mjs'
import { createRunDatabase, perInstanceRates } from './database.mjs'
import { InstanceClient } from './http-client.mjs'
import { createUsers, startInstances, stopInstances } from './instances.mjs'
import { say, sleep } from './log.mjs'
import { Propagation, PROBE_WARMUP_MS, PROBES_AT_ONCE, probeUserName, runProbes } from './propagation.mjs'
import { RAMP_USERS, rampUserName, runRamp } from './ramp.mjs'
import { summary, Tally } from './stats.mjs'
import { runTraffic, virtualUserName } from './traffic.mjs'

// Time for the instances' first syncs, and for PostgreSQL to publish their statistics (at most once a second per backend).
const SETTLE_MS = 2500

export async function runPhase (name, push, settings, databases, { ramp = false } = {}) {
  const db = await createRunDatabase(settings.serverUrl, name)
  databases.add(db)
  let children = []
  try {
    say(`${name}: database ${db.name}; starting ${settings.instances} instances (REVOCATION_PUSH=${push})`)
    const started = await startInstances(settings.instances, db.url, settings, push)
    children = started.children
    const users = [
      ...Array.from({ length: settings.virtualUsers }, (_, i) => virtualUserName(i)),
      ...Array.from({ length: PROBES_AT_ONCE }, (_, i) => probeUserName(i)),
      ...(ramp ? Array.from({ length: RAMP_USERS }, (_, i) => rampUserName(i)) : [])
    ]
    await createUsers(db.url, users)
    const client = new InstanceClient(started.origins)
    await sleep(SETTLE_MS)
    const errorLinesOf = () => children.reduce((sum, child) => sum + child.errorLines, 0)
    // A start on a starved machine may log a slow first sync: reported, but the checks count from here.
    const startupErrorLines = errorLinesOf()
    say(`${name}: idle for ${settings.idleSeconds} s`)
    const idleBefore = await db.counters()
    await sleep(settings.idleSeconds * 1000)
    const idle = perInstanceRates(idleBefore, await db.counters(), settings.instances)
    say(`${name}: ${idle.transactions.toFixed(1)} transactions/s per instance while idle; mixed traffic for ${settings.loadSeconds} s`)
    const tally = new Tally()
    const propagation = new Propagation()
    const loadBefore = await db.counters()
    const cpuBefore = await cpuSnapshot(children)
    const until = performance.now() + settings.loadSeconds * 1000
    await Promise.all([
      runTraffic(client, settings, until, tally),
      // Probes start once every virtual user has signed in: the first logins are a burst of bcrypt that no steady traffic has.
      sleep(PROBE_WARMUP_MS).then(async () => { await runProbes(client, settings.probeIntervalMs, settings.maxStalenessMs, until, propagation) })
    ])
    const load = perInstanceRates(loadBefore, await db.counters(), settings.instances)
    const cores = coresUsed(cpuBefore, await cpuSnapshot(children))
    const loadSeconds = load.seconds
    const propagationSummary = summary(propagation.samples)
    say(`${name}: ${propagation.revocations} revocations, propagation p50 ${propagationSummary.p50?.toFixed(1)} ms p99 ${propagationSummary.p99?.toFixed(1)} ms; ${load.transactions.toFixed(1)} transactions/s per instance under load`)
    const errorLines = errorLinesOf() - startupErrorLines
    const rampResult = ramp ? await runRamp(client, settings) : undefined
    if (rampResult !== undefined) rampResult.errorLines = errorLinesOf() - errorLines - startupErrorLines
    client.close()
    return { name, push, tally, propagation, summary: propagationSummary, idle, load, loadSeconds, cores, ramp: rampResult, errorLines, startupErrorLines }
  } finally {
    await stopInstances(children)
    await db.drop()
    databases.delete(db)
  }
}
