import { Writable } from 'node:stream'
import type { InjectOptions } from 'fastify'
import { setImmediate as nextTurn } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { createAuthCore, createMemoryStore, LoginBusyError, type AuthEvent, type AuthEventHandler, type AuthStore, type TokenAuthOptions } from 'fastify-token-auth'
import { buildSessionApp, PASSWORD, SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { GatedHasher } from './helpers/gated-hasher.js'
import { bearer } from './helpers/forge.js'
import { cookiesOf, login } from './helpers/session.js'
import { createUser, storeTargets } from './helpers/stores.js'
import { DEMO_PASSWORD, exampleConfig } from './helpers/example-app.js'
import { build } from '../example-app/src/app.js'

// onAuthEvent: one typed stream of the account and session lifecycle, each event once,
// with the user, session, address and time, never a secret, and never able to change a response.

const ADDRESS = '203.0.113.7'
const NEW_PASSWORD = 'a brand new passphrase'

interface Recorder {
  app: Awaited<ReturnType<typeof buildSessionApp>>['app']
  store: AuthStore
  events: AuthEvent[]
  clock: TestClock
  aliceId: string
  lines: string[]
}

function capture (): { lines: string[], stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  return { lines, stream }
}

/** An app whose onAuthEvent records every event (or runs `handler`), with a clock the test moves and its error log captured. */
async function recorder (t: Test, options: { auth?: Partial<TokenAuthOptions>, handler?: AuthEventHandler, store?: AuthStore } = {}): Promise<Recorder> {
  const events: AuthEvent[] = []
  const clock = new TestClock()
  const { lines, stream } = capture()
  const handler = options.handler ?? ((event) => { events.push(event) })
  const { app, store } = await buildSessionApp(t, {
    store: options.store,
    fastify: { logger: { level: 'error', stream } },
    auth: { clock, onAuthEvent: handler, ...options.auth }
  })
  const alice = await store.users.findByUsername('alice')
  return { app, store, events, clock, aliceId: (alice as { id: string }).id, lines }
}

async function sessionIdOf (app: Recorder['app'], accessToken: string): Promise<string> {
  return (await app.tokenAuth.verify(accessToken)).sid as string
}

function loginRequest (payload: Record<string, unknown>, headers: Record<string, string> = {}): InjectOptions {
  return { method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD, ...payload }, remoteAddress: ADDRESS, headers }
}

t.test('a login emits login.succeeded once, with the user, the new session, the address and the time', async (t) => {
  const { app, events, clock, aliceId } = await recorder(t)
  const session = await login(app, {}, ADDRESS)
  t.same(events, [{ type: 'login.succeeded', userId: aliceId, username: 'alice', sessionId: await sessionIdOf(app, session.accessToken), address: ADDRESS, authMethods: ['pwd'], at: clock.now() }])
})

t.test('loginRoutes onLoginSuccess still runs, before the session starts and the event is emitted', async (t) => {
  const order: string[] = []
  const events: AuthEvent[] = []
  const { app } = await buildSessionApp(t, {
    auth: { onAuthEvent: (event) => { order.push(event.type); events.push(event) } },
    routes: { onLoginSuccess: () => { order.push('onLoginSuccess') }, onLoginFailure: ({ reason }) => { order.push(`onLoginFailure:${reason}`) } }
  })
  await login(app)
  await app.inject(loginRequest({ password: 'wrong password' }))
  t.same(order, ['onLoginSuccess', 'login.succeeded', 'login.failed', 'onLoginFailure:wrong_password'])
})

t.test('a wrong password emits login.failed with the user, the username as typed and the reason; the client sees the usual 401', async (t) => {
  const { app, events, clock, aliceId } = await recorder(t)
  const res = await app.inject(loginRequest({ username: 'ALICE', password: 'not the password' }))
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  t.same(events, [{ type: 'login.failed', username: 'ALICE', userId: aliceId, address: ADDRESS, reason: 'wrong_password', at: clock.now() }])
})

t.test('an unknown username emits login.failed without a user id, and the same 401', async (t) => {
  const { app, events } = await recorder(t)
  const res = await app.inject(loginRequest({ username: 'nobody' }))
  t.equal(res.statusCode, 401)
  t.equal(events.length, 1)
  t.match(events[0], { type: 'login.failed', username: 'nobody', reason: 'unknown_user', address: ADDRESS })
  t.equal(events[0].userId, undefined)
})

t.test('a disabled user with the right password emits login.failed for disabled_user', async (t) => {
  const { app, events, aliceId } = await recorder(t)
  await app.tokenAuth.accounts.setDisabled(aliceId, true)
  events.length = 0
  t.equal((await app.inject(loginRequest({}))).statusCode, 401)
  t.match(events, [{ type: 'login.failed', userId: aliceId, reason: 'disabled_user' }])
  t.equal(events.length, 1)
})

t.test('a full password-check queue emits login.failed for busy beside the 503', async (t) => {
  const hasher = new FastTestHasher()
  const store = await storeWithAliceUsing(hasher)
  hasher.verify = async () => { throw new LoginBusyError() }
  const { app, events, aliceId } = await recorder(t, { store, auth: { passwords: { hasher } } })
  t.equal((await app.inject(loginRequest({}))).statusCode, 503)
  t.match(events, [{ type: 'login.failed', userId: aliceId, reason: 'busy', address: ADDRESS }])
  t.equal(events.length, 1)
})

async function storeWithAliceUsing (hasher: FastTestHasher): Promise<AuthStore> {
  const store = createMemoryStore()
  await createUser(store, { username: 'alice', password: PASSWORD }, hasher)
  return store
}

t.test('a locked-out account emits login.locked_out with the Retry-After it answered, and no login.failed', async (t) => {
  const { app, events, clock } = await recorder(t, { auth: { throttle: { maxAccountFailures: 2 } } })
  await app.inject(loginRequest({ password: 'wrong 1' }))
  await app.inject(loginRequest({ password: 'wrong 2' }))
  events.length = 0
  const res = await app.inject(loginRequest({}))
  t.equal(res.statusCode, 429)
  t.same(events, [{ type: 'login.locked_out', username: 'alice', userId: undefined, address: ADDRESS, cause: 'failures', retryAfter: Number(res.headers['retry-after']), at: clock.now() }])
  t.ok(Number(res.headers['retry-after']) > 0)
})

t.test('a login refused because too many checks for the account are running emits login.locked_out for in_flight', async (t) => {
  const hasher = new GatedHasher()
  const store = await storeWithAliceUsing(hasher)
  const { app, events } = await recorder(t, { store, auth: { passwords: { hasher }, login: { maxInFlightPerAccount: 1 } } })
  const first = app.inject(loginRequest({}))
  while (hasher.waiting.length === 0) await nextTurn()
  const second = await app.inject(loginRequest({}))
  t.equal(second.statusCode, 429)
  t.match(events, [{ type: 'login.locked_out', username: 'alice', cause: 'in_flight', retryAfter: 1, address: ADDRESS }])
  hasher.open()
  t.equal((await first).statusCode, 200)
  t.same(events.map((event) => event.type), ['login.locked_out', 'login.succeeded'])
})

t.test('a login refused because too many checks from the address are running emits login.locked_out for in_flight', async (t) => {
  const hasher = new GatedHasher()
  const store = await storeWithAliceUsing(hasher)
  const { app, events } = await recorder(t, { store, auth: { passwords: { hasher }, login: { maxInFlightPerAddress: 1 } } })
  const first = app.inject(loginRequest({ username: 'someone' }))
  while (hasher.waiting.length === 0) await nextTurn()
  t.equal((await app.inject(loginRequest({}))).statusCode, 429)
  t.match(events, [{ type: 'login.locked_out', username: 'alice', cause: 'in_flight' }])
  hasher.open()
  await first
})

t.test('a refresh emits session.refreshed with the session and the address', async (t) => {
  const { app, events, clock, aliceId } = await recorder(t)
  const session = await login(app, { include_refresh_token: true })
  events.length = 0
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken }, remoteAddress: ADDRESS })
  t.equal(res.statusCode, 200)
  t.same(events, [{ type: 'session.refreshed', userId: aliceId, sessionId: await sessionIdOf(app, session.accessToken), address: ADDRESS, at: clock.now() }])
})

for (const target of storeTargets().filter((one) => one.name === 'memory' || one.name === 'sqlite')) {
  t.test(`a spent refresh token presented again emits session.reuse_detected naming the session it revoked [${target.name}]`, { skip: target.skip }, async (t) => {
    const store = await target.create(t)
    await createUser(store, { username: 'alice', password: PASSWORD })
    const { app, events, clock, aliceId } = await recorder(t, { store, auth: { session: { reuseGrace: 0 } } })
    const session = await login(app, { include_refresh_token: true })
    const sessionId = await sessionIdOf(app, session.accessToken)
    t.equal((await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken } })).statusCode, 200)
    clock.advance(1100)
    events.length = 0
    const res = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken }, remoteAddress: ADDRESS })
    t.equal(res.statusCode, 401)
    t.same(events, [{ type: 'session.reuse_detected', userId: aliceId, sessionId, address: ADDRESS, at: clock.now() }])
  })
}

t.test('a logout emits session.logged_out once for its session; logging out an ended session again emits nothing', async (t) => {
  const { app, events, clock, aliceId } = await recorder(t)
  const session = await login(app, { include_refresh_token: true })
  const sessionId = await sessionIdOf(app, session.accessToken)
  events.length = 0
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken), payload: { refresh_token: session.refreshToken }, remoteAddress: ADDRESS })
  t.equal(res.statusCode, 204)
  t.same(events, [{ type: 'session.logged_out', userId: aliceId, sessionId, address: ADDRESS, at: clock.now() }])
  events.length = 0
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: session.refreshToken } })).statusCode, 204)
  t.same(events, [])
})

t.test('a logout naming two sessions (the access token\'s and another refresh token\'s) emits one event for each', async (t) => {
  const { app, events } = await recorder(t)
  const phone = await login(app, { include_refresh_token: true })
  const laptop = await login(app, { include_refresh_token: true })
  const sessionIds = [await sessionIdOf(app, phone.accessToken), await sessionIdOf(app, laptop.accessToken)]
  events.length = 0
  await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(phone.accessToken), payload: { refresh_token: laptop.refreshToken } })
  t.same(events.map((event) => [event.type, event.sessionId]), sessionIds.map((id) => ['session.logged_out', id]))
})

t.test('logging out a token without a session emits session.logged_out without a session id', async (t) => {
  const { app, events, aliceId } = await recorder(t)
  const token = await app.tokenAuth.sign({ sub: aliceId })
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })).statusCode, 204)
  t.match(events, [{ type: 'session.logged_out', userId: aliceId }])
  t.equal(events[0].sessionId, undefined)
})

t.test('ending a session through app.tokenAuth twice emits one event', async (t) => {
  const { app, events } = await recorder(t)
  const session = await login(app)
  const claims = await app.tokenAuth.verify(session.accessToken)
  events.length = 0
  t.equal(await app.tokenAuth.endSession(claims), true)
  t.equal(await app.tokenAuth.endSession(claims), true)
  t.same(events.map((event) => event.type), ['session.logged_out'])
  t.equal(events[0].address, undefined, 'no request, no address')
})

t.test('log out everywhere emits user.logged_out_everywhere with the session it came from', async (t) => {
  const { app, events, clock, aliceId } = await recorder(t)
  const session = await login(app)
  const sessionId = await sessionIdOf(app, session.accessToken)
  events.length = 0
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(session.accessToken), remoteAddress: ADDRESS })).statusCode, 204)
  t.same(events, [{ type: 'user.logged_out_everywhere', userId: aliceId, sessionId, address: ADDRESS, at: clock.now() }])
})

t.test('a password change emits password.changed with the session it came from; a wrong current password emits login.failed', async (t) => {
  const { app, events, clock, aliceId } = await recorder(t)
  const session = await login(app)
  const sessionId = await sessionIdOf(app, session.accessToken)
  events.length = 0
  const wrong = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(session.accessToken), payload: { current_password: 'not it', new_password: NEW_PASSWORD }, remoteAddress: ADDRESS })
  t.equal(wrong.statusCode, 401)
  t.same(events, [{ type: 'login.failed', username: 'alice', userId: aliceId, address: ADDRESS, reason: 'wrong_password', at: clock.now() }])
  events.length = 0
  const res = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(session.accessToken), payload: { current_password: PASSWORD, new_password: NEW_PASSWORD }, remoteAddress: ADDRESS })
  t.equal(res.statusCode, 200)
  t.same(events, [{ type: 'password.changed', userId: aliceId, sessionId, address: ADDRESS, at: clock.now() }])
})

t.test('account operations through app.tokenAuth emit one event each, and nothing when nothing changed', async (t) => {
  const { app, events, clock } = await recorder(t)
  const accounts = app.tokenAuth.accounts
  const bob = await accounts.createUser({ username: 'Bob', password: PASSWORD })
  await accounts.setDisabled(bob.id, true)
  await accounts.setDisabled(bob.id, true)
  await accounts.setDisabled(bob.id, false)
  await accounts.setDisabled(bob.id, false)
  await accounts.changePassword(bob.id, NEW_PASSWORD)
  await app.tokenAuth.logoutEverywhere(bob.id)
  await accounts.deleteUser(bob.id)
  await t.rejects(accounts.setDisabled(bob.id, false), { code: 'FST_TOKEN_AUTH_USER_NOT_FOUND' })
  const at = clock.now()
  t.same(events, [
    { type: 'user.created', userId: bob.id, username: 'bob', at },
    { type: 'user.disabled', userId: bob.id, at },
    { type: 'user.enabled', userId: bob.id, at },
    { type: 'password.changed', userId: bob.id, sessionId: undefined, address: undefined, at },
    { type: 'user.tokens_revoked', userId: bob.id, at },
    { type: 'user.deleted', userId: bob.id, at }
  ])
})

t.test('a handler that throws leaves the response unchanged and is logged', async (t) => {
  const { app, lines } = await recorder(t, { handler: () => { throw new Error('audit sink down') } })
  const session = await login(app)
  t.equal(session.response.statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200)
  const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'onAuthEvent handler failed')
  t.match(failure, { level: 50, eventType: 'login.succeeded', err: { message: 'audit sink down' } })
})

t.test('an async handler is not awaited, and its rejection is logged without changing the response', async (t) => {
  let settle = (): void => {}
  const { app, lines } = await recorder(t, {
    handler: async () => {
      // Never settles until the test says so: a login that waited for it would hang.
      await new Promise<void>((resolve) => { settle = resolve })
      throw new Error('audit sink rejected')
    }
  })
  const res = await app.inject(loginRequest({ password: 'wrong password' }))
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  settle()
  await nextTurn()
  const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'onAuthEvent handler failed')
  t.match(failure, { level: 50, eventType: 'login.failed', err: { message: 'audit sink rejected' } })
})

t.test('no event of a whole session lifecycle carries a password, token, refresh token, hash or device token', async (t) => {
  // Reuse detected after a second, while the revocations (synced on real timers) stay fresh.
  const { app, store, events, clock, aliceId } = await recorder(t, { auth: { session: { reuseGrace: 0 }, revocation: { maxStaleness: '1m' } } })
  const wrongPassword = 'a wrong but secret password'
  await app.inject(loginRequest({ password: wrongPassword }))
  const browser = await login(app, {}, ADDRESS)
  const device = cookiesOf(browser.response)['__Secure-device']
  const api = await login(app, { include_refresh_token: true })
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: api.refreshToken } })
  clock.advance(1100)
  await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: api.refreshToken } })
  const changed = await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(browser.accessToken), payload: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
  t.equal(changed.statusCode, 200, changed.payload)
  const after = changed.json()
  await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(after.access_token) })
  const again = await login(app, { password: NEW_PASSWORD, include_refresh_token: true })
  await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(again.accessToken) })
  const hash = (await store.users.findById(aliceId))?.passwordHash as string
  await app.tokenAuth.accounts.setDisabled(aliceId, true)
  await app.tokenAuth.accounts.deleteUser(aliceId)
  const secrets = {
    password: PASSWORD,
    wrongPassword,
    newPassword: NEW_PASSWORD,
    device,
    accessToken: browser.accessToken,
    csrfToken: browser.csrfToken,
    refreshToken: api.refreshToken,
    rotatedRefreshToken: refreshed.json().refresh_token,
    changedAccessToken: after.access_token,
    againRefreshToken: again.refreshToken,
    hash,
    hashBody: hash.slice(7)
  }
  const serialised = JSON.stringify(events)
  t.same(new Set(events.map((event) => event.type)), new Set(['login.failed', 'login.succeeded', 'session.refreshed', 'session.reuse_detected', 'password.changed', 'session.logged_out', 'user.logged_out_everywhere', 'user.disabled', 'user.deleted']))
  for (const [name, secret] of Object.entries(secrets)) {
    t.ok(typeof secret === 'string' && secret.length >= 8, `${name} was captured`)
    t.notOk(serialised.includes(secret), `no ${name} in any event`)
  }
})

t.test('onAuthEvent that is not a function is refused at startup, naming the option', async (t) => {
  t.throws(() => createAuthCore({ secret: SECRET, onAuthEvent: 'audit.log' as never }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /onAuthEvent must be a function.*audit\.log/ })
  await t.rejects(buildSessionApp(t, { auth: { onAuthEvent: {} as never } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /onAuthEvent must be a function/ })
})

t.test('without onAuthEvent nothing is emitted and logins work as before', async (t) => {
  const { app } = await buildSessionApp(t)
  t.equal((await login(app)).response.statusCode, 200)
})

t.test('the example app logs every auth event as one structured line, failures at warn, and no secret', async (t) => {
  const { lines, stream } = capture()
  const app = await build(await exampleConfig(t), { logger: { level: 'info', stream } })
  t.teardown(async () => { await app.close() })
  const wrong = 'not the demo password'
  await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'demo', password: wrong } })
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'demo', password: DEMO_PASSWORD, include_refresh_token: true } })
  const { access_token: accessToken, refresh_token: refreshToken } = res.json()
  await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(accessToken) })
  const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'auth event')
  const demo = await app.tokenAuth.accounts.findUserByUsername('demo')
  t.same(logged.map((entry) => [entry.level, entry.event.type]), [[30, 'user.created'], [30, 'user.created'], [40, 'login.failed'], [30, 'login.succeeded'], [30, 'session.logged_out']])
  t.match(logged[3].event, { userId: demo?.id, username: 'demo', sessionId: String, address: '127.0.0.1', at: Number })
  for (const secret of [wrong, DEMO_PASSWORD, accessToken, refreshToken, demo?.passwordHash as string]) {
    t.notOk(lines.some((line) => line.includes(secret)), 'no secret in any log line')
  }
})
