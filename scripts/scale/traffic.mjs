// Mixed traffic from virtual users at a fixed total rate: each logs in on some instance,
// uses its token by header and by cookie on random instances, refreshes, and ends with a
// logout or a logout everywhere; its previous token, revoked more than maxStaleness ago,
// must then be refused by whichever instance is asked.
import { sleep } from './log.mjs'
import { pacer } from './pacing.mjs'
import { PASSWORD } from './instances.mjs'

export const virtualUserName = (index) => `scale-user-${index}`

const GETS_BEFORE_REFRESH = 36
const COOKIE_GETS = 18
const GETS_AFTER_REFRESH = 36
// Requests in one cycle, for the report's logins per second.
export const REQUESTS_PER_CYCLE = 1 + GETS_BEFORE_REFRESH + COOKIE_GETS + 1 + GETS_AFTER_REFRESH + 1 + 1

const bearer = (token) => ({ authorization: `Bearer ${token}` })

async function virtualUser (index, client, settings, until, tally) {
  const instances = client.origins.length
  const pick = () => Math.floor(Math.random() * instances)
  const clientAddress = `10.1.${index >> 8}.${index & 255}`
  const paced = pacer(settings.virtualUsers * 1000 / settings.rate)
  let revoked
  const call = async (kind, route, expected, instance, method, path, options = {}) => {
    await paced()
    const res = await client.send(instance, method, path, { ...options, clientAddress })
    if (res.status === 0) tally.socketErrors++
    else tally.record(kind, route, res.status, res.ms, expected)
    return res
  }
  while (performance.now() < until) {
    const login = await call('login', 'POST /auth/login', 200, pick(), 'POST', '/auth/login', { json: { username: virtualUserName(index), password: PASSWORD, include_refresh_token: true } })
    if (login.status !== 200) continue
    let access = login.body.access_token
    const cookie = login.cookies.find((c) => c.includes('access-token='))?.split(';')[0]
    for (let i = 0; i < GETS_BEFORE_REFRESH; i++) await call('GET bearer', 'GET /api/me', 200, pick(), 'GET', '/api/me', { headers: bearer(access) })
    for (let i = 0; i < COOKIE_GETS; i++) await call('GET cookie', 'GET /api/me', 200, pick(), 'GET', '/api/me', { headers: { cookie } })
    const refreshed = await call('refresh', 'POST /auth/refresh', 200, pick(), 'POST', '/auth/refresh', { json: { refresh_token: login.body.refresh_token } })
    if (refreshed.status === 200) access = refreshed.body.access_token
    for (let i = 0; i < GETS_AFTER_REFRESH; i++) await call('GET bearer', 'GET /api/me', 200, pick(), 'GET', '/api/me', { headers: bearer(access) })
    if (revoked !== undefined && performance.now() > revoked.at + settings.maxStalenessMs) {
      const res = await call('GET revoked', 'GET /api/me', 401, pick(), 'GET', '/api/me', { headers: bearer(revoked.token) })
      if (res.status === 200) tally.revokedAccepted++
    }
    const everywhere = Math.random() < 0.2
    const ended = everywhere
      ? await call('logout everywhere', 'POST /auth/logout-all', 204, pick(), 'POST', '/auth/logout-all', { headers: bearer(access) })
      : await call('logout', 'POST /auth/logout', 204, pick(), 'POST', '/auth/logout', { headers: bearer(access) })
    revoked = ended.status === 204 ? { token: access, at: ended.doneAt } : undefined
  }
}

export async function runTraffic (client, settings, until, tally) {
  // Starts spread over the first second, as users arrive, rather than sixteen logins at once.
  await Promise.all(Array.from({ length: settings.virtualUsers }, async (_, index) => {
    await sleep(index * 1000 / settings.virtualUsers)
    await virtualUser(index, client, settings, until, tally)
  }))
}
