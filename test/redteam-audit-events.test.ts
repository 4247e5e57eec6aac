import { Writable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import t, { type Test } from 'tap'
import type { AuthEvent, AuthEventHandler, LoginRoutesOptions, TokenAuthOptions } from 'fastify-token-auth'
import { buildSessionApp, PASSWORD } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { login } from './helpers/session.js'

// Audit events under attack: a replayed refresh token raced, a handler that is no native
// Promise, a login the application refuses, an account change an attacker would make.

const ADDRESS = '203.0.113.9'

interface Recorder {
  app: Awaited<ReturnType<typeof buildSessionApp>>['app']
  events: AuthEvent[]
  clock: TestClock
  aliceId: string
  lines: string[]
}

async function recorder (t: Test, options: { auth?: Partial<TokenAuthOptions>, routes?: LoginRoutesOptions, handler?: AuthEventHandler } = {}): Promise<Recorder> {
  const events: AuthEvent[] = []
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const clock = new TestClock()
  const { app, store } = await buildSessionApp(t, {
    fastify: { logger: { level: 'error', stream } },
    routes: options.routes,
    auth: { clock, onAuthEvent: options.handler ?? ((event) => { events.push(event) }), ...options.auth }
  })
  const alice = await store.users.findByUsername('alice')
  return { app, events, clock, aliceId: (alice as { id: string }).id, lines }
}

t.test('a spent refresh token replayed by two requests at once revokes the session and emits session.reuse_detected once', async (t) => {
  const { app, events, clock } = await recorder(t, { auth: { session: { reuseGrace: 0 } } })
  const session = await login(app, { include_refresh_token: true })
  t.equal((await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken } })).statusCode, 200)
  clock.advance(1100)
  events.length = 0
  // Started in the same turn, both read the session as live before either revokes it.
  const replays = await Promise.allSettled([app.tokenAuth.refreshSession(session.refreshToken as string), app.tokenAuth.refreshSession(session.refreshToken as string)])
  t.same(replays.map((replay) => replay.status), ['rejected', 'rejected'])
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${session.accessToken}` } })).statusCode, 401, 'the session was revoked')
  t.same(events.map((event) => event.type), ['session.reuse_detected'])
})

t.test('a handler returning a rejecting thenable (not this realm\'s Promise) is logged, never left unhandled', async (t) => {
  const { app, lines } = await recorder(t, {
    handler: () => ({ then: (_resolve: unknown, reject: (error: Error) => void) => { reject(new Error('thenable sink down')) } }) as unknown as Promise<void>
  })
  t.equal((await login(app)).response.statusCode, 200)
  await nextTurn()
  const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'onAuthEvent handler failed')
  t.match(failure, { level: 50, eventType: 'login.succeeded', err: { message: 'thenable sink down' } })
})

t.test('a handler whose result has a throwing `then` getter is logged and the login goes on', async (t) => {
  const { app, lines } = await recorder(t, {
    handler: () => ({ get then () { throw new Error('then getter') } }) as unknown as Promise<void>
  })
  t.equal((await login(app)).response.statusCode, 200)
  t.ok(lines.some((line) => line.includes('then getter')))
})

t.test('a login with the right password that onLoginSuccess refuses emits login.failed for refused, and no login.succeeded', async (t) => {
  const { app, events, aliceId } = await recorder(t, {
    routes: { onLoginSuccess: () => { throw Object.assign(new Error('second factor required'), { statusCode: 403 }) } }
  })
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD }, remoteAddress: ADDRESS })
  t.not(res.statusCode, 200, 'no session')
  t.notOk(res.body.includes('access_token'))
  t.match(events, [{ type: 'login.failed', userId: aliceId, username: 'alice', reason: 'refused', address: ADDRESS }])
  t.equal(events.length, 1)
  t.notOk(JSON.stringify(events).includes(PASSWORD))
})

t.test('changing a user\'s email or roles emits user.updated naming the fields, never their values; changing nothing emits nothing', async (t) => {
  const { app, events, aliceId, clock } = await recorder(t)
  await app.tokenAuth.accounts.updateUser(aliceId, { email: 'attacker@example.com', roles: ['admin', 'root'] })
  t.same(events, [{ type: 'user.updated', userId: aliceId, fields: ['email', 'roles'], sessionsEnded: false, at: clock.now() }])
  t.notOk(JSON.stringify(events).includes('attacker@example.com'))
  events.length = 0
  await app.tokenAuth.accounts.updateUser(aliceId, {})
  t.same(events, [])
})

/** What a handler might throw or reject with: an error whose `stack` cannot even be read. */
function unreadableError (): Error {
  const error = new Error('audit sink down')
  Object.defineProperty(error, 'stack', { enumerable: true, get () { throw new Error('no stack for you') } })
  return error
}

t.test('a handler throwing an error that cannot be serialised leaves the login and the log intact', async (t) => {
  const { app, lines } = await recorder(t, { handler: () => { throw unreadableError() } })
  t.equal((await login(app)).response.statusCode, 200)
  t.match(lines.map((line) => JSON.parse(line)).find((entry) => entry.msg.startsWith('onAuthEvent handler failed')), { level: 50, eventType: 'login.succeeded' })
})

t.test('an async handler rejecting with an error that cannot be serialised is logged, never an unhandled rejection', async (t) => {
  const { app, lines } = await recorder(t, { handler: async () => { throw unreadableError() } })
  t.equal((await login(app)).response.statusCode, 200)
  await nextTurn()
  t.match(lines.map((line) => JSON.parse(line)).find((entry) => entry.msg.startsWith('onAuthEvent handler failed')), { level: 50, eventType: 'login.succeeded' })
})
