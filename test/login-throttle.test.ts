import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { TokenAuthOptions } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { cookiesOf } from './helpers/session.js'
import { createUser, forEachStore, memoryStoreTarget, type StoreTarget } from './helpers/stores.js'

// Logins over HTTP: every attempt is reserved in the store before any password work, so
// the limits hold whatever the concurrency, and a browser that signed in before keeps
// its own allowance while an attacker keeps the account locked for everyone else.

async function setup (t: Test, target: StoreTarget, auth: Partial<TokenAuthOptions> = {}): Promise<FastifyInstance> {
  const store = await target.create(t)
  const hasher = new FastTestHasher()
  await createUser(store, { username: 'alice', password: PASSWORD }, hasher)
  await createUser(store, { username: 'bob', password: PASSWORD }, hasher)
  return await buildApp(t, { auth: { store, passwords: { hasher }, ...auth }, routes: {} })
}

async function attempt (app: FastifyInstance, password: string, remoteAddress = '10.0.0.1', username = 'alice', cookie?: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress, headers: cookie === undefined ? {} : { cookie } })
}

function assertThrottled (t: Test, res: LightMyRequestResponse, maxRetryAfter: number): void {
  t.equal(res.statusCode, 429)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_LOGIN_THROTTLED')
  t.equal(res.headers['www-authenticate'], undefined)
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= maxRetryAfter, `Retry-After ${retryAfter} within 1..${maxRetryAfter}`)
}

function assertRefused (t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
}

forEachStore(t, 'five failed logins from rotating addresses lock the account; the right password after them gets 429', async (t, target) => {
  const app = await setup(t, target)
  for (let i = 1; i <= 5; i++) assertRefused(t, await attempt(app, 'wrong password', `10.0.0.${i}`))
  assertThrottled(t, await attempt(app, PASSWORD, '10.0.0.7'), 30)
  assertThrottled(t, await attempt(app, PASSWORD, '10.0.0.1'), 30)
  t.equal((await attempt(app, PASSWORD, '10.0.0.1', 'bob')).statusCode, 200, 'another account is not affected')
})

forEachStore(t, '200 concurrent guesses on one account: the right password among them after the limit gets 429, never 200', async (t, target) => {
  const app = await setup(t, target, { login: { maxInFlightPerAccount: 1000, maxInFlightPerAddress: 1000 } })
  const guesses = await Promise.all(Array.from({ length: 200 }, async (_, i) => await attempt(app, i === 199 ? PASSWORD : `guess ${i}`)))
  t.equal(guesses.filter((res) => res.statusCode === 401).length, 5, 'exactly the limit were checked')
  t.equal(guesses.filter((res) => res.statusCode === 429).length, 195)
  assertThrottled(t, guesses[199], 30)
})

forEachStore(t, 'an unknown username locks exactly like a real one (no oracle)', async (t, target) => {
  const app = await setup(t, target, { throttle: { maxAccountFailures: 2 } })
  for (let i = 0; i < 2; i++) assertRefused(t, await attempt(app, 'x-password', `10.1.0.${i}`, 'ghost'))
  assertThrottled(t, await attempt(app, 'x-password', '10.1.0.9', 'GHOST'), 30)
})

forEachStore(t, 'a success takes back only its own attempt: failures before it still count', async (t, target) => {
  const app = await setup(t, target, { throttle: { maxAccountFailures: 3 } })
  for (let i = 0; i < 2; i++) assertRefused(t, await attempt(app, 'wrong password'))
  t.equal((await attempt(app, PASSWORD)).statusCode, 200)
  assertRefused(t, await attempt(app, 'wrong password'))
  assertThrottled(t, await attempt(app, PASSWORD), 30)
})

forEachStore(t, 'one address failing across many accounts is throttled on its own', async (t, target) => {
  const app = await setup(t, target, { throttle: { maxAddressFailures: 4 } })
  for (let i = 0; i < 4; i++) assertRefused(t, await attempt(app, 'guess', '192.0.2.1', `user${i}`))
  assertThrottled(t, await attempt(app, PASSWORD, '192.0.2.1'), 30)
  t.equal((await attempt(app, PASSWORD, '192.0.2.2')).statusCode, 200, 'another address is not affected')
})

forEachStore(t, 'a browser that signed in before keeps logging in while an attacker keeps the account locked', async (t, target) => {
  const app = await setup(t, target)
  const earlier = await attempt(app, PASSWORD, '198.51.100.7')
  const device = earlier.cookies.find((cookie) => cookie.name === '__Secure-device')
  t.match(device, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth' })
  t.ok((device?.maxAge as number) >= 300 * 86400, 'long-lived')
  const deviceCookie = `__Secure-device=${device?.value as string}`
  // Six cheap failures (73-byte passwords cost no bcrypt) from an attacker's addresses.
  for (let i = 0; i < 6; i++) await attempt(app, 'x'.repeat(73), `203.0.113.${i}`)
  assertThrottled(t, await attempt(app, PASSWORD, '198.51.100.8'), 30)
  const victim = await attempt(app, PASSWORD, '198.51.100.7', 'alice', deviceCookie)
  t.equal(victim.statusCode, 200, 'the device cookie carries its own allowance')
  t.not(cookiesOf(victim)['__Secure-device'], device?.value, 'and is renewed')
  const forged = await attempt(app, PASSWORD, '198.51.100.9', 'alice', `__Secure-device=${'A'.repeat(22)}.${'B'.repeat(43)}`)
  assertThrottled(t, forged, 30)
  const otherUser = await attempt(app, PASSWORD, '198.51.100.9', 'bob', deviceCookie)
  t.equal(otherUser.statusCode, 200, 'alice\'s device cookie is simply ignored for bob')
  const planted = await attempt(app, PASSWORD, '198.51.100.7', 'alice', `${deviceCookie}; __Secure-device=planted`)
  assertThrottled(t, planted, 30)
})

t.test('a second device cookie planted beside the browser\'s own is not trusted, and does not block signing in', async (t) => {
  const app = await setup(t, memoryStoreTarget())
  const planted = await attempt(app, PASSWORD, '198.51.100.7', 'alice', '__Secure-device=a.b; __Secure-device=c.d')
  t.equal(planted.statusCode, 200, 'no 400: the account\'s own allowance applies')
})

t.test('the lockout doubles with each further failure, is capped by maxLockout, and always ends', async (t) => {
  const clock = new TestClock()
  const app = await setup(t, memoryStoreTarget(), { clock, throttle: { maxAccountFailures: 1, lockout: '1s', maxLockout: '2s' } })
  assertRefused(t, await attempt(app, 'wrong 1'))
  const first = await attempt(app, PASSWORD)
  assertThrottled(t, first, 1)
  clock.advance(1100)
  assertRefused(t, await attempt(app, 'wrong 2'))
  const second = await attempt(app, PASSWORD)
  t.equal(second.headers['retry-after'], '2', 'doubled')
  clock.advance(2100)
  assertRefused(t, await attempt(app, 'wrong 3'))
  t.equal((await attempt(app, PASSWORD)).headers['retry-after'], '2', 'capped at maxLockout: a real user is never locked out for long')
  clock.advance(2100)
  t.equal((await attempt(app, PASSWORD)).statusCode, 200, 'and it ends')
})

t.test('IPv6 clients are counted per /64', async (t) => {
  const app = await setup(t, memoryStoreTarget(), { throttle: { maxAddressFailures: 2 } })
  for (const address of ['2001:db8:1:2::1', '2001:db8:1:2::2']) assertRefused(t, await attempt(app, 'guess', address, `someone-${address}`))
  assertThrottled(t, await attempt(app, PASSWORD, '2001:db8:1:2:ffff:ffff:ffff:ffff'), 30)
  t.equal((await attempt(app, PASSWORD, '2001:db8:1:3::1')).statusCode, 200, 'the next /64 is someone else')
})

t.test('a full password-check queue answers 503 with Retry-After at once, and the attempt is not counted', async (t) => {
  const app = await setup(t, memoryStoreTarget(), { passwords: { bcryptCost: 10, bcryptConcurrency: 1, bcryptQueue: 0 }, throttle: { maxAccountFailures: 1 } })
  const usernames = ['carol', 'dave', 'erin']
  for (const username of usernames) await app.tokenAuth.accounts.createUser({ username, password: PASSWORD })
  const results = await Promise.all(usernames.map(async (username, i) => await attempt(app, PASSWORD, `10.9.0.${i}`, username)))
  t.ok(results.every((res) => res.statusCode === 200 || res.statusCode === 503), results.map((res) => res.statusCode).join(' '))
  const busyIndex = results.findIndex((res) => res.statusCode === 503)
  t.ok(busyIndex >= 0, 'one check at a time and no queue: the others are busy')
  const busy = results[busyIndex]
  t.equal(busy.json().code, 'FST_TOKEN_AUTH_BUSY')
  t.equal(busy.headers['retry-after'], '1')
  t.equal(busy.headers['www-authenticate'], undefined)
  const retried = await attempt(app, PASSWORD, '10.9.0.9', usernames[busyIndex])
  t.equal(retried.statusCode, 200, 'with a limit of one attempt, the busy one did not lock the account')
})
