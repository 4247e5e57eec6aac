// Refreshes per second on PostgreSQL: refresh-only steps at rising target rates across the
// instances, each step timed on its own. A refresh rotates a session's token, so a session
// is refreshed by one request at a time; every session is used at most USES_PER_SESSION
// times in the whole ramp (the core limits refreshes per session per minute) and comes from
// its own client address (and per address per minute). Answers other than 200 and socket
// errors are counted per step, for the report; they do not fail the run.
import { PASSWORD } from './instances.mjs'
import { say, sleep } from './log.mjs'
import { summary, Tally } from './stats.mjs'

// The core allows 30 refreshes per session per minute; the ramp lasts well under a minute.
const USES_PER_SESSION = 25
export const RAMP_USERS = 40
export const rampUserName = (index) => `scale-ramp-${index}`
const LOGINS_AT_ONCE = 6
const TICK_MS = 5

async function openSessions (client, count) {
  const sessions = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      const clientAddress = `10.3.${index >> 8}.${index & 255}`
      const instance = index % client.origins.length
      const res = await client.send(instance, 'POST', '/auth/login', { json: { username: rampUserName(index % RAMP_USERS), password: PASSWORD, include_refresh_token: true }, clientAddress })
      if (res.status !== 200) throw new Error(`ramp login answered ${res.status}`)
      sessions.push({ refreshToken: res.body.refresh_token, clientAddress })
    }
  }
  await Promise.all(Array.from({ length: LOGINS_AT_ONCE }, worker))
  return sessions
}

async function step (client, idle, target, seconds, tally) {
  const latencies = []
  let ok = 0
  let refused = 0
  let socketErrors = 0
  let instance = 0
  const inFlight = new Set()
  const started = performance.now()
  const end = started + seconds * 1000
  let sent = 0
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * target)
    while (sent < due && idle.length > 0) {
      const session = idle.shift()
      sent++
      instance = (instance + 1) % client.origins.length
      const request = client.send(instance, 'POST', '/auth/refresh', { json: { refresh_token: session.refreshToken }, clientAddress: session.clientAddress }).then((res) => {
        inFlight.delete(request)
        if (res.status === 0) socketErrors++
        else tally.record('ramp refresh', 'POST /auth/refresh', res.status, res.ms, 200)
        if (res.status !== 200) { refused++; return }
        if (res.doneAt <= end) ok++
        latencies.push(res.ms)
        idle.push({ ...session, refreshToken: res.body.refresh_token })
      })
      inFlight.add(request)
    }
    // Sessions all busy: the missed requests show as a lower achieved rate.
    if (sent < due) sent = due
    await sleep(TICK_MS)
  }
  await Promise.all(inFlight)
  tally.socketErrors += socketErrors
  return { target, achieved: ok / seconds, refused, socketErrors, ...summary(latencies) }
}

/** The steps' results and the sustained rate: the last step within 2x the first step's p99 at >= 95 % of its target. */
export async function runRamp (client, settings) {
  // Its own tally: the ramp overloads on purpose, so its answers are reported, not checked.
  const tally = new Tally()
  const warmUpSeconds = 1
  const total = settings.rampSteps.reduce((sum, rate) => sum + rate * settings.rampStepSeconds, settings.rampSteps[0] * warmUpSeconds)
  const sessions = await openSessions(client, Math.ceil(total / USES_PER_SESSION))
  say(`ramp: ${sessions.length} sessions open; steps ${settings.rampSteps.join(', ')} refreshes/s, ${settings.rampStepSeconds} s each`)
  const idle = [...sessions]
  // Not measured: the first refreshes of every instance pay for its cold code paths.
  await step(client, idle, settings.rampSteps[0], warmUpSeconds, new Tally())
  const steps = []
  for (const target of settings.rampSteps) {
    const result = await step(client, idle, target, settings.rampStepSeconds, tally)
    steps.push(result)
    say(`ramp: ${target}/s -> ${result.achieved.toFixed(0)}/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`)
  }
  let sustained
  for (const result of steps) {
    if (result.p99 < 2 * steps[0].p99 && result.achieved >= 0.95 * result.target) sustained = result
    else break
  }
  return { steps, sustained, tally }
}
