// A distributed guessing attack: 100k distinct usernames from many addresses. What it
// leaves in memory: the verified-token cache (bounded by its size), the login throttle's
// counters (one per username and one per address, until pruned after their idle time),
// and the in-process RateLimit windows (bounded by maxKeys).
import { randomBytes } from 'node:crypto'
import knex from 'knex'
import { systemClock } from '../../dist/esm/lib/clock.js'
import { AccessTokens } from '../../dist/esm/lib/tokens/access-tokens.js'
import { createKeyRing } from '../../dist/esm/lib/tokens/key-ring.js'
import { LoginThrottle } from '../../dist/esm/lib/login/login-throttle.js'
import { createMemoryStore } from '../../dist/esm/lib/store/memory-store.js'
import { createKnexStore } from '../../dist/esm/lib/store/knex/knex-store.js'
import { RateLimit } from '../../dist/esm/lib/sessions/rate-limit.js'

const POLICY = { maxAccountFailures: 5, maxAddressFailures: 50, windowSeconds: 900, lockoutSeconds: 30, maxLockoutSeconds: 900 }
const ADDRESSES = 10_000

function heapAfterGc () {
  globalThis.gc(); globalThis.gc()
  return process.memoryUsage().heapUsed
}

async function tokenCache (distinct, cacheSize) {
  const tokens = new AccessTokens({ ring: createKeyRing([{ secret: randomBytes(32) }]), issuer: 'bench', audience: 'bench', ttlSeconds: 900, clockToleranceSeconds: 5, maxTokenLength: 4096, cacheSize, maxTtlSeconds: 86400, clock: systemClock })
  for (let i = 0; i < 1000; i++) tokens.verify(tokens.sign({ sub: `warm-${i}` }).token)
  const samples = []
  const before = heapAfterGc()
  for (let i = 0; i < distinct; i++) {
    tokens.verify(tokens.sign({ sub: `user-${i}` }).token)
    if ((i + 1) % (distinct / 4) === 0) samples.push(Math.round((heapAfterGc() - before) / 1024))
  }
  return { distinct, cacheSize, heapKbAt: samples, tokens: tokens ? distinct : 0 }
}

// Every failure is a reservation on the account key and the address key, as a login does.
async function fail (throttle, usernames, clock) {
  let refused = 0
  for (let i = 0; i < usernames; i++) {
    clock.ms += 1
    try {
      await throttle.reserve({ account: `account:user-${i}`, address: `address:10.${(i % ADDRESSES) >> 8}.${i % 256}.0` }, () => {})
    } catch { refused++ }
  }
  return refused
}

async function memoryCounters (usernames) {
  const clock = { ms: Date.now(), now () { return this.ms } }
  const store = createMemoryStore()
  const throttle = new LoginThrottle(store.attempts, POLICY, clock)
  await fail(new LoginThrottle(createMemoryStore().attempts, POLICY, clock), 1000, clock)
  const before = heapAfterGc()
  const refused = await fail(throttle, usernames, clock)
  const bytes = heapAfterGc() - before
  const counters = usernames + ADDRESSES
  let began = performance.now()
  const keptNone = await store.attempts.prune(clock.ms / 1000 - 86400)
  const pruneNothingMs = performance.now() - began
  began = performance.now()
  const pruned = await store.attempts.prune(clock.ms / 1000 + 1)
  const pruneAllMs = performance.now() - began
  return { usernames, addresses: ADDRESSES, refused, counters, bytesPerCounter: bytes / counters, pruneNothingMs, keptNone, pruned, pruneAllMs }
}

async function knexCounters (usernames) {
  const clock = { ms: Date.now(), now () { return this.ms } }
  const db = knex({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1 } })
  const store = createKnexStore({ knex: db, tablePrefix: 'cost_' })
  try {
    await store.migrate()
    const throttle = new LoginThrottle(store.attempts, POLICY, clock)
    let began = performance.now()
    const refused = await fail(throttle, usernames, clock)
    const failuresPerSecond = usernames / ((performance.now() - began) / 1000)
    const [{ rows }] = await db('cost_login_attempts').count({ rows: '*' })
    began = performance.now()
    const pruned = await store.attempts.prune(clock.ms / 1000 + 1)
    const pruneAllMs = performance.now() - began
    return { usernames, addresses: Math.min(ADDRESSES, usernames), refused, rows: Number(rows), failuresPerSecond, pruned, pruneAllMs }
  } finally {
    await db.destroy()
  }
}

function rateLimitWindows (distinct, maxKeys) {
  const limit = new RateLimit({ limit: 10, windowSeconds: 60, maxKeys }, systemClock)
  for (let i = 0; i < 1000; i++) limit.hit(`warm-${i}`)
  const samples = []
  const before = heapAfterGc()
  for (let i = 0; i < distinct; i++) {
    limit.hit(`address:${i}`)
    if ((i + 1) % (distinct / 4) === 0) samples.push(Math.round((heapAfterGc() - before) / 1024))
  }
  return { distinct, maxKeys, heapKbAt: samples, kept: limit ? maxKeys : 0 }
}

export async function run ({ usernames, knexUsernames }) {
  const cache = await tokenCache(usernames, 10_000)
  process.stderr.write('    token cache done\n')
  const memory = await memoryCounters(usernames)
  process.stderr.write('    memory-store counters done\n')
  const sqlite = await knexCounters(knexUsernames)
  process.stderr.write('    SQLite counters done\n')
  const rateLimit = rateLimitWindows(usernames * 2, 100_000)
  return { cache, memory, sqlite, rateLimit }
}
