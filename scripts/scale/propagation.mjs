// Revocation propagation: a probe user logs in on instance i, its token is accepted by every
// instance, it logs out on i (t0: the logout's answer arrives); every other instance is then
// asked with the revoked token, ASK_SPACING_MS apart, until it answers 401. Propagation to
// an instance is its first 401's arrival minus t0: an upper bound.
import { sleep } from './log.mjs'
import { PASSWORD } from './instances.mjs'

// One probe at a time: each asks every other instance every ASK_SPACING_MS, so overlapping probes
// would send more requests than the traffic they measure. Each slot has its own user and address.
export const PROBES_AT_ONCE = 1
export const probeUserName = (index) => `scale-probe-${index}`
export const ASK_SPACING_MS = 3
// Into the mixed traffic before the first probe.
export const PROBE_WARMUP_MS = 2000
// A refused token asked again: a 200 after a 401 would be an accepted revoked token.
const CONFIRMATIONS = 2
// How long past maxStaleness an instance may take before the probe gives up on it (counted as never refused).
export const GIVE_UP_MARGIN_MS = 2000

const bearer = (token) => ({ authorization: `Bearer ${token}` })

export class Propagation {
  samples = []
  revocations = 0
  acceptedRevoked = 0
  neverRefused = 0
  probeFailures = new Map()

  fail (what) { this.probeFailures.set(what, (this.probeFailures.get(what) ?? 0) + 1) }
}

async function untilRefused (client, instance, token, t0, maxStalenessMs, result, clientAddress) {
  let refusals = 0
  let firstRefusalAt
  while (refusals <= CONFIRMATIONS) {
    const res = await client.send(instance, 'GET', '/api/me', { headers: bearer(token), clientAddress })
    if (res.status === 401) {
      refusals++
      firstRefusalAt ??= res.doneAt
    } else if (res.status === 200) {
      // Accepted after this instance refused it already, or past the staleness bound.
      if (refusals > 0 || res.doneAt > t0 + maxStalenessMs) result.acceptedRevoked++
    } else {
      result.fail(`GET revoked: ${res.status}`)
    }
    if (firstRefusalAt === undefined && res.doneAt > t0 + maxStalenessMs + GIVE_UP_MARGIN_MS) {
      result.neverRefused++
      return
    }
    await sleep(ASK_SPACING_MS)
  }
  result.samples.push(firstRefusalAt - t0)
}

async function probeOnce (client, home, slot, maxStalenessMs, result) {
  const clientAddress = `10.2.0.${slot + 1}`
  const login = await client.send(home, 'POST', '/auth/login', { json: { username: probeUserName(slot), password: PASSWORD }, clientAddress })
  if (login.status !== 200) return result.fail(`login: ${login.status}`)
  const token = login.body.access_token
  const everyone = client.origins.map((_, i) => i)
  const checks = await Promise.all(everyone.map((i) => client.send(i, 'GET', '/api/me', { headers: bearer(token), clientAddress })))
  for (const check of checks) if (check.status !== 200) result.fail(`GET valid: ${check.status}`)
  const logout = await client.send(home, 'POST', '/auth/logout', { headers: bearer(token), clientAddress })
  if (logout.status !== 204) return result.fail(`logout: ${logout.status}`)
  const t0 = logout.doneAt
  result.revocations++
  await Promise.all(everyone.filter((i) => i !== home).map((i) => untilRefused(client, i, token, t0, maxStalenessMs, result, clientAddress)))
}

/**
 * A probe every intervalMs on the instances in turn until `until`, up to PROBES_AT_ONCE at a
 * time (a start is skipped while all are busy).
 */
export async function runProbes (client, intervalMs, maxStalenessMs, until, result) {
  const busy = new Map()
  for (let round = 0; performance.now() < until; round++) {
    const slot = [...Array(PROBES_AT_ONCE).keys()].find((i) => !busy.has(i))
    if (slot !== undefined) {
      busy.set(slot, probeOnce(client, round % client.origins.length, slot, maxStalenessMs, result).finally(() => busy.delete(slot)))
    }
    await sleep(intervalMs)
  }
  await Promise.all(busy.values())
}
