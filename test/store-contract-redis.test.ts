import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { createMemoryStore, type AttemptCounter, type AuthStore } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { attemptCases } from '../lib/store/contract/attempt-cases.js'
import { concurrently } from '../lib/store/contract/case.js'
import { createRedisAttempts } from 'fastify-token-auth/redis'
import { buildApp, PASSWORD } from './helpers/app.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { openDatabase } from './helpers/databases.js'
import { createUser } from './helpers/stores.js'
import { silentServer } from './helpers/silent-server.js'

// The attempt counters in Redis: the store contract's attempt cases, reservations counted
// exactly under contention between instances, and a Redis that stops answering gives a
// 503 instead of a login that waits forever. CI sets TEST_REDIS_URL (and fails on a skip).

const redisUrl = process.env.TEST_REDIS_URL
const skip = redisUrl === undefined ? 'TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379)' : false

/** A key prefix of its own per test, and the clients it opens, closed and cleaned in teardown. */
function redisFor (t: Test): { prefix: string, connect: () => Redis } {
  const prefix = `fta-test-${randomBytes(6).toString('hex')}:`
  const clients: Redis[] = []
  t.teardown(async () => {
    const [cleaner] = clients
    if (cleaner !== undefined) {
      const keys = await cleaner.keys(`${prefix}*`)
      if (keys.length > 0) await cleaner.del(...keys)
    }
    await Promise.all(clients.map(async (client) => { await client.quit() }))
  })
  return {
    prefix,
    connect: () => {
      const client = new Redis(redisUrl as string)
      clients.push(client)
      return client
    }
  }
}

/** A store whose counters live in Redis, each call over a connection of its own. */
function composedStores (t: Test): () => Promise<AuthStore> {
  const { prefix, connect } = redisFor(t)
  const others = createMemoryStore()
  return async () => ({ ...others, attempts: createRedisAttempts({ redis: connect(), keyPrefix: prefix }) })
}

const countOne = (key: string) => (current: ReadonlyMap<string, AttemptCounter>) => {
  const count = (current.get(key)?.count ?? 0) + 1
  return { write: [{ key, count, windowStartedAt: 1, lockedUntil: 0, lastAttemptAt: 1 }], result: count }
}

t.test('the store contract\'s attempt cases on Redis', { skip }, async (t) => {
  for (const { name, run } of attemptCases) {
    t.test(name, async (t) => { await run(composedStores(t)) })
  }
})

t.test('200 concurrent reservations on one key through two clients and four instances are counted exactly 200', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const clients = [connect(), connect()]
  const ports = Array.from({ length: 4 }, (_, index) => createRedisAttempts({ redis: clients[index % 2], keyPrefix: prefix }))
  const { values, errors } = await concurrently(200, async (index) => await ports[index % 4].update(['account:alice'], countOne('account:alice')))
  t.same(errors, [])
  t.same(values.sort((a, b) => a - b), Array.from({ length: 200 }, (_, index) => index + 1), 'each saw a different count')
  t.equal(await ports[0].update(['account:alice'], (current) => ({ write: [], result: current.get('account:alice')?.count })), 200)
  t.same(await clients[0].keys(`${prefix}claim:*`), [], 'every claim taken by an update that kept losing was dropped when it won')
})

t.test('a counter expires by itself a day after its last write, and prune neither counts one that expired already nor keeps it in the index', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const client = connect()
  const attempts = createRedisAttempts({ redis: client, keyPrefix: prefix })
  await attempts.update(['k'], countOne('k'))
  const ttl = await client.ttl(`${prefix}counter:k`)
  t.ok(ttl > 86_000 && ttl <= 86_400, `expires in ${ttl} s`)
  await client.del(`${prefix}counter:k`)
  t.equal(await attempts.prune(2), 0, 'a counter gone already is not counted')
  t.equal(await client.zcard(`${prefix}idle`), 0, 'and leaves the index')
})

t.test('a knex store with its counters in Redis is accepted by the plugin and counts failed logins in Redis only', { skip }, async (t) => {
  const { prefix, connect } = redisFor(t)
  const client = connect()
  const hasher = new FastTestHasher()
  const database = await openDatabase(t, 'sqlite')
  const knexStore = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
  await knexStore.migrate()
  const store: AuthStore = { ...knexStore, attempts: createRedisAttempts({ redis: client, keyPrefix: prefix }) }
  await createUser(store, { username: 'alice', password: PASSWORD }, hasher)
  const app = await buildApp(t, { auth: { store, passwords: { hasher } }, routes: {} })
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'wrong password' }, remoteAddress: `10.0.0.${i}` })
    t.equal(res.statusCode, 401)
  }
  const locked = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD }, remoteAddress: '10.0.1.1' })
  t.equal(locked.statusCode, 429, 'the account is locked by counters kept in Redis')
  t.ok((await client.keys(`${prefix}counter:*`)).length > 0)
  t.equal((await database.knex(`${database.prefix}login_attempts`).count({ rows: '*' }))[0].rows, 0, 'no counter row in SQL')
})

t.test('a Redis that stops answering gives a 503 StoreUnavailableError with Retry-After at the timeout, for updates queued behind it too', async (t) => {
  const port = await silentServer(t)
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: null })
  t.teardown(() => { client.disconnect() })
  const attempts = createRedisAttempts({ redis: client, timeout: '200ms' })
  const outcomes = await Promise.allSettled([
    attempts.update(['account:alice'], countOne('account:alice')),
    attempts.update(['account:alice'], countOne('account:alice')),
    attempts.update([], () => ({ write: [{ key: 'x', count: 1, windowStartedAt: 1, lockedUntil: 0, lastAttemptAt: 1 }], result: 0 })),
    attempts.prune(1)
  ])
  for (const outcome of outcomes) {
    t.equal(outcome.status, 'rejected')
    const error = (outcome as PromiseRejectedResult).reason as { code: string, statusCode: number, headers: Record<string, string>, cause: Error }
    t.equal(error.code, 'FST_TOKEN_AUTH_STORE_UNAVAILABLE')
    t.equal(error.statusCode, 503)
    t.equal(error.headers['retry-after'], '2')
    t.equal(error.cause.name, 'RedisTimeoutError')
  }
})

t.test('a Redis that refuses connections gives a 503 StoreUnavailableError', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  t.teardown(() => { client.disconnect() })
  const attempts = createRedisAttempts({ redis: client })
  await t.rejects(attempts.update(['k'], countOne('k')), { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503 })
})

t.test('createRedisAttempts refuses what is not a client, a prefix that is not a string, a bad timeout and an unknown option', async (t) => {
  const redis = new Redis({ lazyConnect: true })
  t.teardown(() => { redis.disconnect() })
  t.throws(() => createRedisAttempts({ redis: {} as unknown as Redis }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
  t.throws(() => createRedisAttempts({ redis, keyPrefix: 5 as unknown as string }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
  t.throws(() => createRedisAttempts({ redis, timeout: '2 weeks' }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
  t.throws(() => createRedisAttempts({ redis, prefix: 'x' } as unknown as Parameters<typeof createRedisAttempts>[0]), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
})
