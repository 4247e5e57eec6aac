import t, { type Test } from 'tap'
import type { AuthEvent } from 'fastify-token-auth'
import { buildSessionApp, PASSWORD } from './helpers/app.js'
import { createUser } from './helpers/stores.js'
import { TestClock } from './helpers/clock.js'
import { login } from './helpers/session.js'

// "Your sessions": GET /auth/sessions lists the signed-in user's live sessions and
// DELETE /auth/sessions/:id ends one of them, never another user's.

const REALM = 'Bearer realm="api"'

async function sessionsApp (t: Test): Promise<{ app: Awaited<ReturnType<typeof buildSessionApp>>['app'], events: AuthEvent[], clock: TestClock }> {
  const events: AuthEvent[] = []
  const clock = new TestClock()
  // The clock moves by hand, the revocation sync's timers do not: a long staleness bound keeps it fresh.
  const { app, store } = await buildSessionApp(t, { auth: { clock, revocation: { maxStaleness: '1h' }, onAuthEvent: (event) => { events.push(event) } } })
  await createUser(store, { username: 'bob', password: PASSWORD })
  return { app, events, clock }
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

t.test('GET /auth/sessions lists the user\'s live sessions, newest first, with address, User-Agent and which one is asking', async (t) => {
  const { app, clock } = await sessionsApp(t)
  const first = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD, include_refresh_token: true }, remoteAddress: '198.51.100.1', headers: { 'user-agent': 'Firefox/130' } })
  const firstTokens = first.json()
  clock.advance(2_000)
  const second = await login(app, { include_refresh_token: true }, '198.51.100.2')
  await login(app, { username: 'bob' })
  const res = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(second.accessToken) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const { sessions } = res.json()
  t.equal(sessions.length, 2, 'alice\'s two, not bob\'s')
  t.match(sessions[0], { current: true, client_address: '198.51.100.2', user_agent: 'lightMyRequest' })
  t.match(sessions[1], { current: false, client_address: '198.51.100.1', user_agent: 'Firefox/130' })
  t.same(Object.keys(sessions[0]).sort(), ['client_address', 'created_at', 'current', 'expires_at', 'id', 'last_used_at', 'user_agent'])
  t.equal(sessions[1].last_used_at, sessions[1].created_at)
  t.ok(sessions[0].created_at - sessions[1].created_at >= 1)
  clock.advance(3_000)
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: firstTokens.refresh_token }, remoteAddress: '203.0.113.5', headers: { 'user-agent': 'Safari/17' } })
  t.equal(refreshed.statusCode, 200)
  const listed = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(refreshed.json().access_token) })
  t.equal(listed.statusCode, 200, listed.body)
  const after = listed.json().sessions
  t.match(after[1], { current: true, client_address: '203.0.113.5', user_agent: 'Safari/17', created_at: sessions[1].created_at })
  t.equal(after[1].last_used_at - sessions[1].created_at, 5, 'a refresh moves "last used"')
})

t.test('DELETE /auth/sessions/:id ends one of the user\'s sessions; its tokens are refused and the event tells who ended it', async (t) => {
  const { app, events } = await sessionsApp(t)
  const phone = await login(app, { include_refresh_token: true }, '198.51.100.7')
  const laptop = await login(app, {}, '198.51.100.8')
  const phoneSession = (await app.tokenAuth.verify(phone.accessToken)).sid as string
  const laptopSession = (await app.tokenAuth.verify(laptop.accessToken)).sid as string
  const res = await app.inject({ method: 'DELETE', url: `/auth/sessions/${phoneSession}`, headers: bearer(laptop.accessToken), remoteAddress: '198.51.100.8' })
  t.equal(res.statusCode, 204)
  t.equal(res.headers['cache-control'], 'no-store')
  const refused = await app.inject({ method: 'GET', url: '/me', headers: bearer(phone.accessToken) })
  t.equal(refused.statusCode, 401, 'the ended session\'s access token is refused at once')
  t.match(refused.json(), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
  const refresh = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: phone.refreshToken } })
  t.equal(refresh.statusCode, 401, 'and its refresh token')
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(laptop.accessToken) })).statusCode, 200, 'the session that asked goes on')
  t.match(events.filter((event) => event.type === 'session.ended'), [{ sessionId: phoneSession, by: 'user', actorSessionId: laptopSession, address: '198.51.100.8' }])
  const own = await app.inject({ method: 'DELETE', url: `/auth/sessions/${laptopSession}`, headers: bearer(laptop.accessToken) })
  t.equal(own.statusCode, 204, 'the current session may end itself')
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(laptop.accessToken) })).statusCode, 401)
})

t.test('another user\'s session and an unknown one get the same 404, and nothing ends', async (t) => {
  const { app, events } = await sessionsApp(t)
  const alice = await login(app)
  const bob = await login(app, { username: 'bob' })
  const bobSession = (await app.tokenAuth.verify(bob.accessToken)).sid as string
  const answers = []
  for (const id of [bobSession, '00000000-0000-0000-0000-000000000000', 'x']) {
    const res = await app.inject({ method: 'DELETE', url: `/auth/sessions/${id}`, headers: bearer(alice.accessToken) })
    t.equal(res.statusCode, 404, id)
    t.equal(res.headers['www-authenticate'], undefined)
    answers.push(res.json())
  }
  t.match(answers[0], { code: 'FST_TOKEN_AUTH_SESSION_NOT_FOUND' })
  t.same(answers[1], answers[0], 'nothing tells another user\'s session from none')
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(bob.accessToken) })).statusCode, 200, 'bob\'s session lives on')
  t.equal(events.filter((event) => event.type === 'session.ended').length, 0)
  const tooLong = await app.inject({ method: 'DELETE', url: `/auth/sessions/${'a'.repeat(129)}`, headers: bearer(alice.accessToken) })
  t.equal(tooLong.statusCode, 414, 'longer than any route parameter Fastify takes')
  t.equal(tooLong.headers['www-authenticate'], undefined)
  t.match(tooLong.json(), { code: 'FST_ERR_MAX_PARAM_LENGTH' })
})

t.test('without a token, GET and DELETE are 401 with a bare challenge; with a bad one, invalid_token', async (t) => {
  const { app } = await sessionsApp(t)
  for (const method of ['GET', 'DELETE'] as const) {
    const url = method === 'GET' ? '/auth/sessions' : '/auth/sessions/00000000-0000-0000-0000-000000000000'
    const none = await app.inject({ method, url })
    t.equal(none.statusCode, 401, method)
    t.equal(none.headers['www-authenticate'], REALM)
    t.match(none.json(), { code: 'FST_TOKEN_AUTH_NO_TOKEN' })
    const bad = await app.inject({ method, url, headers: bearer('not.a.token') })
    t.equal(bad.statusCode, 401)
    t.match(bad.headers['www-authenticate'], /error="invalid_token"/)
    t.match(bad.json(), { code: 'FST_TOKEN_AUTH_INVALID_TOKEN' })
  }
})

t.test('with the cookie, listing needs no CSRF token, but DELETE without the session\'s CSRF token is refused and ends nothing', async (t) => {
  const { app, events } = await sessionsApp(t)
  const browser = await login(app)
  const other = await login(app, { include_refresh_token: true })
  const otherSession = (await app.tokenAuth.verify(other.accessToken)).sid as string
  const cookie = `${app.tokenAuth.cookieNames.accessToken}=${browser.cookies[app.tokenAuth.cookieNames.accessToken]}; ${app.tokenAuth.cookieNames.csrf}=${browser.csrfToken}`
  t.equal((await app.inject({ method: 'GET', url: '/auth/sessions', headers: { cookie } })).statusCode, 200)
  for (const headers of [{ cookie }, { cookie, 'x-csrf-token': other.csrfToken }, { cookie, 'x-csrf-token': browser.csrfToken, 'sec-fetch-site': 'cross-site' }]) {
    const refused = await app.inject({ method: 'DELETE', url: `/auth/sessions/${otherSession}`, headers })
    t.equal(refused.statusCode, 403)
    t.equal(refused.headers['www-authenticate'], undefined)
    t.match(refused.json(), { code: 'FST_TOKEN_AUTH_CSRF' })
  }
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: bearer(other.accessToken) })).statusCode, 200, 'nothing ended')
  t.equal(events.filter((event) => event.type === 'session.ended').length, 0)
  const res = await app.inject({ method: 'DELETE', url: `/auth/sessions/${otherSession}`, headers: { cookie, 'x-csrf-token': browser.csrfToken } })
  t.equal(res.statusCode, 204)
})

t.test('a DELETE with a body that is not JSON is a 415', async (t) => {
  const { app } = await sessionsApp(t)
  const alice = await login(app)
  const res = await app.inject({ method: 'DELETE', url: '/auth/sessions/x', headers: { ...bearer(alice.accessToken), 'content-type': 'text/plain' }, payload: 'x' })
  t.equal(res.statusCode, 415)
  t.equal(res.headers['www-authenticate'], undefined)
  t.match(res.json(), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' })
})

t.test('fifty concurrent DELETEs of one session: each 204 or 404, one session.ended', async (t) => {
  const { app, events } = await sessionsApp(t)
  const alice = await login(app)
  const target = await login(app)
  const sessionId = (await app.tokenAuth.verify(target.accessToken)).sid as string
  const responses = await Promise.all(Array.from({ length: 50 }, async () => await app.inject({ method: 'DELETE', url: `/auth/sessions/${sessionId}`, headers: bearer(alice.accessToken) })))
  t.ok(responses.every((res) => res.statusCode === 204 || res.statusCode === 404), 'never anything else')
  t.equal(responses.filter((res) => res.statusCode === 204).length, 1)
  t.equal(events.filter((event) => event.type === 'session.ended').length, 1)
})
