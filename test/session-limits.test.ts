import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildSessionApp } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { login } from './helpers/session.js'

// Writes a client can cause are bounded: refreshes and logouts per session and per
// address, and nothing written for a session that already ended.

const refresh = async (app: FastifyInstance, token: string, remoteAddress = '10.0.0.1'): Promise<LightMyRequestResponse> =>
  await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token }, remoteAddress })

function assertRateLimited (t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 429)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_RATE_LIMITED')
  t.equal(res.headers['www-authenticate'], undefined)
  t.match(res.headers['retry-after'], /^\d+$/)
}

t.test('a session may refresh perSessionPerMinute times a minute; then 429 with Retry-After until the minute is over', async (t) => {
  const clock = new TestClock()
  const { app } = await buildSessionApp(t, { auth: { clock, session: { perSessionPerMinute: 3 } } })
  let token = (await login(app, { include_refresh_token: true })).refreshToken
  for (let i = 0; i < 3; i++) {
    const res = await refresh(app, token)
    t.equal(res.statusCode, 200)
    token = res.json().refresh_token
  }
  const limited = await refresh(app, token)
  assertRateLimited(t, limited)
  clock.advance(60_000)
  t.equal((await refresh(app, token)).statusCode, 200, 'the refused refresh spent nothing, and the next minute is open')
})

t.test('one address may refresh and log out perAddressPerMinute times a minute, whatever the session', async (t) => {
  const { app } = await buildSessionApp(t, { auth: { session: { perAddressPerMinute: 2 } } })
  const sessions = []
  for (const i of [1, 2, 3]) sessions.push(await login(app, { include_refresh_token: true }, `10.1.0.${i}`))
  t.equal((await refresh(app, sessions[0].refreshToken, '10.2.0.1')).statusCode, 200)
  t.equal((await refresh(app, sessions[1].refreshToken, '10.2.0.1')).statusCode, 200)
  assertRateLimited(t, await refresh(app, sessions[2].refreshToken, '10.2.0.1'))
  assertRateLimited(t, await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(sessions[2].accessToken), remoteAddress: '10.2.0.1' }))
  t.equal((await refresh(app, sessions[2].refreshToken, '10.2.0.2')).statusCode, 200, 'another address is not affected')
})

t.test('a spent refresh token posted to logout again and again writes no revocation after the first', async (t) => {
  const { app, store } = await buildSessionApp(t, { auth: { session: { perSessionPerMinute: 1000, perAddressPerMinute: 1000 } } })
  const session = await login(app, { include_refresh_token: true })
  const first = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: session.refreshToken } })
  t.equal(first.statusCode, 204)
  const before = (await store.revocations.list({ afterId: 0 })).length
  for (let i = 0; i < 50; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: session.refreshToken }, remoteAddress: `10.3.0.${i}` })
    t.equal(res.statusCode, 204)
  }
  t.equal((await store.revocations.list({ afterId: 0 })).length, before, 'nothing more was written')
  const revoked = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })
  t.equal(revoked.statusCode, 401, 'the revoked access token is refused')
  t.equal(revoked.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(revoked.headers['www-authenticate'], /error="invalid_token"/)
  t.equal((await store.revocations.list({ afterId: 0 })).length, before, 'and writes nothing either')
})
