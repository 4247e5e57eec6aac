// Failed-login counters in PostgreSQL (the knex store's attempts port) against Redis
// (createRedisAttempts): updates per second and latency at concurrency 1, 16 and 64, on
// distinct keys (guessing spread over many accounts and addresses) and on one hot account
// (a targeted attack), attempts on a locked account (refused: read, nothing counted), and
// the PostgreSQL row writes each costs. Two
// "instances" per backend (two knex pools, two Redis clients), workers alternating between
// them, as in a scaled-out deployment; PostgreSQL also with synchronous_commit off. Rounds
// are interleaved, the backends taking turns at going first.
//
//   npm run build && node bench/attempts-redis.mjs [--quick] [--out file.md]
//
// 127.0.0.1 only: TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test) and
// TEST_REDIS_URL (default redis://127.0.0.1:6379). Tables and keys of its own, removed at the end.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import knex from 'knex'
import { Redis } from 'ioredis'
import { createKnexStore } from 'fastify-token-auth/knex'
import { createRedisAttempts } from '../dist/esm/lib/store/redis/redis-attempts.js'
import { median } from './measure.mjs'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined
const ROUNDS = quick ? 3 : 5
const SLICE_MS = quick ? 700 : 1500
const CONCURRENCY = [1, 16, 64]
const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
for (const url of [PG_URL, REDIS_URL]) {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) throw new Error(`127.0.0.1 only: ${url}`)
}

const run = randomBytes(4).toString('hex')
const tablePrefix = `bench_${run}_`
const keyPrefix = `fta-bench-${run}:`

/** What a failed password login does to the counters: one update that counts on the account and on the address. */
const failedLogin = (keys, now) => (current) => ({
  write: keys.map((key) => {
    const found = current.get(key)
    return { key, count: (found?.count ?? 0) + 1, windowStartedAt: found?.windowStartedAt ?? now, lockedUntil: 0, lastAttemptAt: now }
  }),
  result: undefined
})

// A third contender: PostgreSQL with synchronous_commit off on its connections, so that
// a commit does not wait for its WAL flush (a crash may lose the last counts, as Redis
// without persistence loses all): what the SQL store alone could reach.
const asyncCommit = { afterCreate (connection, done) { connection.query('SET synchronous_commit = off', (error) => { done(error, connection) }) } }
const pools = [0, 1].map(() => knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 10 } }))
const asyncPools = [0, 1].map(() => knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 10, ...asyncCommit } }))
// Reads the statistics and cleans up.
const admin = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } })
const clients = [0, 1].map(() => new Redis(REDIS_URL))
const backends = {
  postgres: pools.map((pool) => createKnexStore({ knex: pool, tablePrefix }).attempts),
  'postgres async': asyncPools.map((pool) => createKnexStore({ knex: pool, tablePrefix }).attempts),
  redis: clients.map((redis) => createRedisAttempts({ redis, keyPrefix }))
}
await createKnexStore({ knex: pools[0], tablePrefix }).migrate()

let sequence = 0
/** A login refused by a lockout: the counters are read and nothing is counted (and no password checked). */
const refusedLogin = () => () => ({ write: [], result: undefined })
const scenarios = [
  // Each failed login on an account and an address of its own.
  { name: 'distinct', keys: () => { const n = sequence++; return [`account:${run}-${n}`, `address:${run}-${n}`] }, decide: failedLogin },
  // Every failed login on one account, from ever new addresses.
  { name: 'hot account', keys: () => [`account:${run}-target`, `address:${run}-${sequence++}`], decide: failedLogin },
  // Attempts on a locked account: a 429 each, no bcrypt, so they come as fast as the attacker sends them.
  { name: 'locked account (429)', keys: () => [`account:${run}-locked`, `address:${run}-${sequence++}`], decide: refusedLogin }
]

/** `workers` loops of failed logins for `ms`, alternating between the two instances: rate and latencies. */
async function trial (ports, scenario, workers, ms) {
  const latencies = []
  const end = performance.now() + ms
  let errors = 0
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    const port = ports[worker % 2]
    while (performance.now() < end) {
      const start = performance.now()
      const keys = scenario.keys()
      try {
        await port.update(keys, scenario.decide(keys, Math.floor(Date.now() / 1000)))
      } catch (error) { errors++; errorKinds.add(String(error.cause?.message ?? error.message)) }
      latencies.push(performance.now() - start)
    }
  }))
  return { rate: latencies.length / (ms / 1000), latencies, errors }
}

function percentile (sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

/**
 * Row writes per update of one scenario, on a pool of its own that is closed before the
 * statistics are read: backends report their row counts as they exit (an idle one may
 * wait 10 s to report).
 */
async function pgWritesPerUpdate (scenario) {
  const before = await tupleWrites()
  const pool = knex({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 10 } })
  const { latencies } = await trial([0, 1].map(() => createKnexStore({ knex: pool, tablePrefix }).attempts), scenario, 16, SLICE_MS)
  await pool.destroy()
  await sleep(1000)
  const rows = (await tupleWrites()) - before
  return { perUpdate: rows / latencies.length, rows, updates: latencies.length }
}

async function tupleWrites () {
  const { rows } = await admin.raw('select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint as writes from pg_stat_user_tables where relname = ?', [`${tablePrefix}login_attempts`])
  return Number(rows[0].writes)
}

const results = new Map()
const errorKinds = new Set()
try {
  // Warm-up: connections, prepared scripts, the table's pages.
  for (const ports of Object.values(backends)) await trial(ports, scenarios[0], 16, 300)
  for (let round = 0; round < ROUNDS; round++) {
    for (const scenario of scenarios) {
      for (const workers of CONCURRENCY) {
        const names = Object.keys(backends)
        const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)]
        for (const backend of order) {
          const result = await trial(backends[backend], scenario, workers, SLICE_MS)
          const id = `${scenario.name}|${workers}|${backend}`
          const samples = results.get(id) ?? []
          const sorted = result.latencies.sort((a, b) => a - b)
          samples.push({ rate: result.rate, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), errors: result.errors })
          results.set(id, samples)
        }
      }
    }
  }
  await Promise.all([...pools, ...asyncPools].map(async (pool) => { await pool.destroy() }))
  const writes = []
  for (const scenario of scenarios) writes.push({ scenario, ...await pgWritesPerUpdate(scenario) })

  const fmt = (value, digits = 0) => value.toFixed(digits)
  const spread = (values) => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`
  const lines = [
    `Failed-login counter updates (two keys each: account and address), ${ROUNDS} interleaved rounds of ${SLICE_MS} ms, two instances per backend; median (min–max).`,
    '',
    '| keys | concurrency | PostgreSQL updates/s | PG async commit updates/s | Redis updates/s | Redis ÷ PG, per round | Redis ÷ PG async, per round | p50 / p99 ms: PG, PG async, Redis | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  const rate = (samples) => median(samples.map((s) => s.rate))
  const ms = (samples) => `${fmt(median(samples.map((s) => s.p50)), 2)} / ${fmt(median(samples.map((s) => s.p99)), 2)}`
  // Paired by round: a slow moment of the shared machine hits both sides of a ratio.
  const ratios = (a, b) => {
    const each = a.map((s, round) => s.rate / b[round].rate)
    return `${fmt(median(each), 1)}× (${each.sort((x, y) => x - y).map((r) => r.toFixed(1)).join(', ')})`
  }
  for (const scenario of scenarios) {
    for (const workers of CONCURRENCY) {
      const [pg, pga, rd] = ['postgres', 'postgres async', 'redis'].map((backend) => results.get(`${scenario.name}|${workers}|${backend}`))
      const errors = [pg, pga, rd].map((samples) => samples.reduce((sum, s) => sum + s.errors, 0)).join(' / ')
      lines.push(`| ${scenario.name} | ${workers} | ${fmt(rate(pg))} (${spread(pg.map((s) => s.rate))}) | ${fmt(rate(pga))} (${spread(pga.map((s) => s.rate))}) | ${fmt(rate(rd))} (${spread(rd.map((s) => s.rate))}) | ${ratios(rd, pg)} | ${ratios(rd, pga)} | ${ms(pg)}; ${ms(pga)}; ${ms(rd)} | ${errors} |`)
    }
  }
  lines.push('', 'PostgreSQL row writes (n_tup_ins + n_tup_upd + n_tup_del on the attempts table) per update, each also one PostgreSQL transaction; with the counters in Redis: none.', '')
  for (const { scenario, perUpdate, rows, updates } of writes) lines.push(`- ${scenario.name}: ${fmt(perUpdate, 2)} row writes per update (${rows} over ${updates})`)
  if (errorKinds.size > 0) lines.push('', `Errors seen: ${[...errorKinds].join('; ')}`)
  const markdown = lines.join('\n') + '\n'
  process.stdout.write(markdown)
  if (out !== undefined) await writeFile(out, markdown)
} finally {
  const { rows } = await admin.raw('select tablename from pg_tables where tablename like ?', [`${tablePrefix}%`])
  for (const { tablename } of rows) await admin.schema.dropTableIfExists(tablename)
  const keys = await clients[0].keys(`${keyPrefix}*`)
  for (let at = 0; at < keys.length; at += 1000) await clients[0].del(...keys.slice(at, at + 1000))
  await Promise.all([admin, ...pools, ...asyncPools].map(async (pool) => { await pool.destroy() }))
  await Promise.all(clients.map(async (client) => { await client.quit() }))
}
