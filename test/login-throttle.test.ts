import t, { type Test } from 'tap'
import { createMemoryUserStore, type ThrottleOptions } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './helpers/app.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { forEachStore, type StoreTarget } from './helpers/stores.js'

// Failed logins are counted per account and per client address, in the store.

async function setup (t: Test, target: StoreTarget, throttle: ThrottleOptions = {}): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const store = await target.create(t)
  await store.createUser({ username: 'alice', password: PASSWORD })
  return await buildApp(t, { auth: { userStore: store }, routes: { throttle } })
}

async function attempt (app: Awaited<ReturnType<typeof buildApp>>, password: string, remoteAddress = '10.0.0.1', username = 'alice'): Promise<Awaited<ReturnType<typeof app.inject>>> {
  return await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress })
}

function assertThrottled (t: Test, res: Awaited<ReturnType<typeof attempt>>, maxRetryAfter: number): void {
  t.equal(res.statusCode, 429)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_LOGIN_THROTTLED')
  t.equal(res.headers['www-authenticate'], undefined)
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(retryAfter >= 1 && retryAfter <= maxRetryAfter, `Retry-After ${retryAfter} within 1..${maxRetryAfter}`)
}

forEachStore(t, 'six failed logins from rotating addresses lock the account; the seventh, correct, attempt gets 429', async (t, target) => {
  const app = await setup(t, target)
  for (let i = 1; i <= 6; i++) {
    const res = await attempt(app, 'wrong password', `10.0.0.${i}`)
    t.equal(res.statusCode, 401, `failure ${i}`)
  }
  assertThrottled(t, await attempt(app, PASSWORD, '10.0.0.7'), 30)
  assertThrottled(t, await attempt(app, PASSWORD, '10.0.0.1'), 30)
})

forEachStore(t, 'an unknown username locks exactly like a real one (no oracle)', async (t, target) => {
  const app = await setup(t, target, { maxAccountFailures: 2 })
  for (let i = 0; i < 3; i++) await attempt(app, 'x-password', `10.1.0.${i}`, 'ghost')
  assertThrottled(t, await attempt(app, 'x-password', '10.1.0.9', 'GHOST'), 30)
})

forEachStore(t, 'a success resets the account count', async (t, target) => {
  const app = await setup(t, target, { maxAccountFailures: 3 })
  for (let i = 0; i < 3; i++) t.equal((await attempt(app, 'wrong password')).statusCode, 401)
  t.equal((await attempt(app, PASSWORD)).statusCode, 200)
  for (let i = 0; i < 3; i++) t.equal((await attempt(app, 'wrong password')).statusCode, 401)
  t.equal((await attempt(app, PASSWORD)).statusCode, 200, 'three more failures did not lock: the count had restarted')
})

forEachStore(t, 'one address failing across many accounts is throttled on its own', async (t, target) => {
  const app = await setup(t, target, { maxAddressFailures: 4 })
  for (let i = 0; i < 5; i++) t.equal((await attempt(app, 'guess', '192.0.2.1', `user${i}`)).statusCode, 401)
  assertThrottled(t, await attempt(app, PASSWORD, '192.0.2.1'), 30)
  t.equal((await attempt(app, PASSWORD, '192.0.2.2')).statusCode, 200, 'another address is not affected')
})

t.test('the lockout grows with each further failure and is capped by maxLockout', async (t) => {
  const { memoryStoreTarget } = await import('./helpers/stores.js')
  const app = await setup(t, memoryStoreTarget(), { maxAccountFailures: 1, lockout: '1s', maxLockout: '2s' })
  await attempt(app, 'wrong 1')
  await attempt(app, 'wrong 2')
  assertThrottled(t, await attempt(app, PASSWORD), 1)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await attempt(app, 'wrong 3')).statusCode, 401, 'after the lockout a new attempt is allowed')
  const second = await attempt(app, PASSWORD)
  assertThrottled(t, second, 2)
  t.equal(second.headers['retry-after'], '2', 'doubled')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  await attempt(app, 'wrong 4')
  t.equal((await attempt(app, PASSWORD)).headers['retry-after'], '2', 'capped at maxLockout: a real user is never locked out for long')
})

t.test('IPv6 clients are counted per /64', async (t) => {
  const { memoryStoreTarget } = await import('./helpers/stores.js')
  const app = await setup(t, memoryStoreTarget(), { maxAddressFailures: 2 })
  for (const address of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:aaaa::3']) {
    await attempt(app, 'guess', address, `someone-${address}`)
  }
  assertThrottled(t, await attempt(app, PASSWORD, '2001:db8:1:2:ffff:ffff:ffff:ffff'), 30)
  t.equal((await attempt(app, PASSWORD, '2001:db8:1:3::1')).statusCode, 200, 'the next /64 is someone else')
})

t.test('a failure is recorded at the moment it failed, not when the attempt began waiting for bcrypt', async (t) => {
  class SlowHasher extends FastTestHasher {
    override async verify (password: string, hash: string): Promise<boolean> {
      await new Promise((resolve) => setTimeout(resolve, 1500))
      return await super.verify(password, hash)
    }
  }
  const store = createMemoryUserStore({ passwordHasher: new SlowHasher() })
  await store.createUser({ username: 'alice', password: PASSWORD })
  const app = await buildApp(t, { auth: { userStore: store }, routes: {} })
  const began = Date.now() / 1000
  t.equal((await attempt(app, 'wrong password')).statusCode, 401)
  const [account] = await store.loginFailures(['account:alice'])
  t.equal(account.failures, 1)
  t.ok(account.lastFailureAt >= began + 1.4, `recorded ${(account.lastFailureAt - began).toFixed(2)} s after the attempt began`)
})
