import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { createMemoryStore, type AttemptCounter, type AuthStore } from 'fastify-token-auth'
import { createRedisAttempts, type RedisCommands } from 'fastify-token-auth/redis'
import { buildApp, PASSWORD } from './helpers/app.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { createUser } from './helpers/stores.js'
import { silentServer } from './helpers/silent-server.js'

// Red team on the Redis attempt counters: the throttle's bound across instances, claims
// left behind by a process that died, keys that look like Redis syntax, a Redis that
// hangs, and prune with a client that prefixes keys itself.

const redisUrl = process.env.TEST_REDIS_URL
const skip = redisUrl === undefined ? 'TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379)' : false
if (skip !== false) console.log(`# skipping the Redis red-team tests: ${skip}`)

const MAX_ACCOUNT_FAILURES = 5

/** A key prefix of its own per test, and the clients it opens, closed and cleaned in teardown. */
function redisFor (t: Test): { prefix: string, connect: (options?: { keyPrefix?: string }) => Redis } {
  const prefix = `fta-red-${randomBytes(6).toString('hex')}:`
  const clients: Redis[] = []
  t.teardown(async () => {
    const cleaner = new Redis(redisUrl as string)
    const keys = await cleaner.keys(`*${prefix}*`)
    if (keys.length > 0) await cleaner.del(...keys)
    await cleaner.quit()
    await Promise.all(clients.map(async (client) => { await client.quit() }))
  })
  return {
    prefix,
    connect: (options = {}) => {
      const client = new Redis(redisUrl as string, options)
      clients.push(client)
      return client
    }
  }
}

/** Polls `condition` until it holds; false after a generous bound (a hang, not a timing). */
async function eventually (condition: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

const countOne = (key: string, lastAttemptAt = 1) => (current: ReadonlyMap<string, AttemptCounter>) => {
  const count = (current.get(key)?.count ?? 0) + 1
  return { write: [{ key, count, windowStartedAt: 1, lockedUntil: 0, lastAttemptAt }], result: count }
}

const readCount = (key: string) => (current: ReadonlyMap<string, AttemptCounter>) => ({ write: [], result: current.get(key)?.count })

async function appOver (t: Test, users: AuthStore, redis: RedisCommands, prefix: string, hasher: FastTestHasher): Promise<Awaited<ReturnType<typeof buildApp>>> {
  const store: AuthStore = { ...users, attempts: createRedisAttempts({ redis, keyPrefix: prefix }) }
  // In-flight bounds out of the way: the counters alone must hold the limit.
  const login = { maxInFlightPerAccount: 1000, maxInFlightPerAddress: 1000 }
  return await buildApp(t, { auth: { store, login, passwords: { hasher }, throttle: { maxAccountFailures: MAX_ACCOUNT_FAILURES, maxAddressFailures: 100_000 } }, routes: {} })
}

t.test('200 concurrent wrong logins on one account through two apps sharing Redis: exactly the limit reach the password check, only 401 and 429, no claim left', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const hasher = new FastTestHasher()
  const users = createMemoryStore()
  await createUser(users, { username: 'alice', password: PASSWORD }, hasher)
  const apps = [await appOver(t, users, connect(), prefix, hasher), await appOver(t, users, connect(), prefix, hasher)]
  hasher.verifications = 0
  const guesses = await Promise.all(Array.from({ length: 200 }, async (_, i) =>
    await apps[i % 2].inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: `wrong guess ${i}` } })))
  const statuses = new Map<number, number>()
  for (const res of guesses) statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
  t.same([...statuses.keys()].sort(), [401, 429], `statuses: ${JSON.stringify([...statuses])}`)
  t.equal(hasher.verifications, MAX_ACCOUNT_FAILURES, 'exactly the limit reached the password check')
  const right = await apps[1].inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(right.statusCode, 429, 'the right password after them is refused')
  t.same(await connect().keys(`${prefix}claim:*`), [], 'no claim left behind')
})

/**
 * A client for an instance that loses every race (another instance writes the counter
 * just before each of its compare-and-sets) and dies right after a script that claims.
 */
function dyingLoser (direct: Redis, counter: string, claim: string): RedisCommands & { claimTtls: number[] } {
  let bumps = 0
  const claimTtls: number[] = []
  const script = async (send: () => Promise<unknown>, numberOfKeys: number, rest: Array<string | number>): Promise<unknown> => {
    await direct.set(counter, JSON.stringify([++bumps, 1, 0, 1]), 'EX', 600)
    const answer = await send()
    if (Number(rest[numberOfKeys + 5]) === 0) return answer
    claimTtls.push(await direct.pttl(claim))
    return await new Promise(() => {})
  }
  return {
    claimTtls,
    mget: async (...keys) => await direct.mget(...keys),
    zrangebyscore: async (...args) => await direct.zrangebyscore(...args),
    evalsha: async (sha, numberOfKeys, ...rest) => await script(async () => await direct.evalsha(sha, numberOfKeys, ...rest), numberOfKeys, rest),
    eval: async (source, numberOfKeys, ...rest) => await script(async () => await direct.eval(source, numberOfKeys, ...rest), numberOfKeys, rest)
  }
}

t.test('a claim left by a process that died right after claiming expires by itself within the timeout; meanwhile updates fail with a 503, never a write', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const direct = connect()
  const claim = `${prefix}claim:account:alice`
  const client = dyingLoser(direct, `${prefix}counter:account:alice`, claim)
  const loser = createRedisAttempts({ redis: client, keyPrefix: prefix, timeout: '300ms' })
  await t.rejects(loser.update(['account:alice'], countOne('account:alice')), { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503 })
  t.equal(client.claimTtls.length, 1, 'it died holding a claim')
  t.ok(client.claimTtls[0] > 0 && client.claimTtls[0] <= 300, `a claim set to expire within the update's timeout (pttl ${client.claimTtls[0]} ms)`)

  const other = createRedisAttempts({ redis: direct, keyPrefix: prefix, timeout: '300ms' })
  const before = await direct.get(`${prefix}counter:account:alice`)
  const blocked = await other.update(['account:alice'], countOne('account:alice')).then(() => 'written', (error: { code?: string }) => error.code)
  if (blocked !== 'written') {
    t.equal(blocked, 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', 'a 503 while the claim is held')
    t.equal(await direct.get(`${prefix}counter:account:alice`), before, 'and nothing written')
  }
  t.ok(await eventually(async () => await direct.exists(claim) === 0), 'the claim went by itself')
  const count = await other.update(['account:alice'], countOne('account:alice'))
  t.ok(count > 0, 'the counter is writable again: no lockout for ever')
})

t.test('keys that look like Redis syntax or another key\'s name are counted apart, each on its own counter', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const attempts = createRedisAttempts({ redis: connect(), keyPrefix: prefix })
  const keys = ['a b', '{a}', 'a:b', 'a', 'b', 'counter:a', 'claim:a', 'idle', '*', '\r\nDEL x', 'x'.repeat(180), 'account#' + 'f'.repeat(64), 'ünïcödé', '']
  for (const key of keys) await attempts.update([key], countOne(key))
  for (const key of keys) await attempts.update([key], countOne(key))
  for (const key of keys) t.equal(await attempts.update([key], readCount(key)), 2, JSON.stringify(key.slice(0, 20)))
  t.equal(await attempts.update(['a', 'b'], countOne('a')), 3, 'a multi-key update sees each key\'s own counter')
})

t.test('no spelling of a locked account name logs in through Redis counters', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const hasher = new FastTestHasher()
  const users = createMemoryStore()
  await createUser(users, { username: 'alice', password: PASSWORD }, hasher)
  const app = await appOver(t, users, connect(), prefix, hasher)
  for (let i = 0; i < MAX_ACCOUNT_FAILURES; i++) {
    t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: `wrong ${i}` } })).statusCode, 401)
  }
  for (const username of ['alice', 'ALICE', 'Alice', ' alice', 'alice ', '\u0041lice', 'ａｌｉｃｅ']) {
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: PASSWORD } })
    t.not(res.statusCode, 200, `${JSON.stringify(username)} does not log in`)
  }
})

t.test('a login while Redis hangs answers 503 with its code, never waits for ever, never 500, and checks no password', async (t) => {
  const port = await silentServer(t)
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null })
  t.teardown(() => { client.disconnect() })
  const hasher = new FastTestHasher()
  const users = createMemoryStore()
  await createUser(users, { username: 'alice', password: PASSWORD }, hasher)
  const store: AuthStore = { ...users, attempts: createRedisAttempts({ redis: client, timeout: '200ms' }) }
  const app = await buildApp(t, { auth: { store, passwords: { hasher } }, routes: {} })
  hasher.verifications = 0
  const results = await Promise.all(['alice', 'alice', 'nobody'].map(async (username) =>
    await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: PASSWORD } })))
  for (const res of results) {
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_STORE_UNAVAILABLE')
  }
  t.equal(hasher.verifications, 0)
})

t.test('with an ioredis client that prefixes keys itself, prune deletes idle counters, empties the index, and ends', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const appPrefix = `app-${prefix}`
  const client = connect({ keyPrefix: appPrefix })
  // Fails the test instead of hanging it when prune lists the same entries again and again.
  let listings = 0
  const bounded = new Proxy(client, {
    get (target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver)
      if (name !== 'zrangebyscore') return typeof value === 'function' ? value.bind(target) : value
      return async (...args: Parameters<Redis['zrangebyscore']>) => {
        if (++listings > 20) throw new Error('prune listed the index more than 20 times')
        return await target.zrangebyscore(...args)
      }
    }
  }) as unknown as RedisCommands
  const attempts = createRedisAttempts({ redis: bounded, keyPrefix: prefix })
  const idle = Array.from({ length: 600 }, (_, i) => `account:idle-${i}`)
  for (const key of idle) await attempts.update([key], countOne(key, 1))
  await attempts.update(['account:busy'], countOne('account:busy', 5000))
  t.equal(await attempts.prune(1000), 600, 'every idle counter deleted')
  const raw = connect()
  t.equal(await raw.exists(`${appPrefix}${prefix}counter:account:idle-0`), 0, 'gone from Redis')
  t.equal(await raw.zcard(`${appPrefix}${prefix}idle`), 1, 'only the busy one stays in the index')
  t.equal(await attempts.update(['account:busy'], readCount('account:busy')), 1, 'the busy one is kept')
})

t.test('a prune stops starting batches once its timeout has passed, and the next prunes go on from there', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const client = connect()
  // Each batch's delete takes 40 ms: ten batches would take 400 ms, four times the timeout.
  const slowed = new Proxy(client, {
    get (target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver)
      if (name !== 'evalsha') return typeof value === 'function' ? value.bind(target) : value
      return async (...args: Parameters<Redis['evalsha']>) => {
        await new Promise((resolve) => setTimeout(resolve, 40))
        return await target.evalsha(...args)
      }
    }
  }) as unknown as RedisCommands
  const writer = createRedisAttempts({ redis: client, keyPrefix: prefix })
  const keys = Array.from({ length: 5000 }, (_, i) => `account:idle-${i}`)
  for (let at = 0; at < keys.length; at += 500) {
    const batch = keys.slice(at, at + 500)
    await writer.update(batch, () => ({ write: batch.map((key) => ({ key, count: 1, windowStartedAt: 1, lockedUntil: 0, lastAttemptAt: 1 })), result: undefined }))
  }
  const attempts = createRedisAttempts({ redis: slowed, keyPrefix: prefix, timeout: '100ms' })
  const first = await attempts.prune(1000)
  t.ok(first >= 500 && first < 5000, `the first prune deleted ${first} and left the rest`)
  let total = first
  for (let prunes = 1; prunes < 20 && total < 5000; prunes++) total += await attempts.prune(1000)
  t.equal(total, 5000, 'the next prunes delete the rest')
  t.equal(await connect().zcard(`${prefix}idle`), 0, 'and empty the index')
})
