// How long an API key revoked on one instance keeps working on another that has it cached:
// two apps (instance A and B, each with its own pool) on one database, a key used on both,
// revoked through A, then B polled with app.inject until it refuses the key. The documented
// bound is revocation.maxStaleness. SQLite file by default; PostgreSQL when TEST_PG_URL is set.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import tokenAuth from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import knex from 'knex'
import { median } from './measure.mjs'

// The package's defaults, written out: what the result is compared with.
const MAX_STALENESS_MS = 1000
const SYNC_INTERVAL_MS = 250
// Past this a trial counts as never refused, and the run goes on.
const GIVE_UP_MS = 5000

function sqlitePool (filename) {
  return knex({
    client: 'sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      afterCreate (connection, done) {
        connection.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;', (error) => { done(error, connection) })
      }
    }
  })
}

async function database () {
  if (process.env.TEST_PG_URL !== undefined && process.env.TEST_PG_URL !== '') {
    const url = process.env.TEST_PG_URL
    return { name: 'PostgreSQL', tablePrefix: `bench_${randomBytes(4).toString('hex')}_`, pool: () => knex({ client: 'pg', connection: url, pool: { min: 0, max: 4 } }), cleanup: async () => {} }
  }
  const folder = await mkdtemp(join(tmpdir(), 'fta-bench-keys-'))
  const file = join(folder, 'auth.sqlite')
  return { name: 'SQLite (one file, WAL)', tablePrefix: 'auth_', pool: () => sqlitePool(file), cleanup: async () => { await rm(folder, { recursive: true, force: true }) } }
}

async function instance (db, tablePrefix, secret) {
  const store = createKnexStore({ knex: db, tablePrefix })
  await store.migrate()
  const app = Fastify({ logger: false })
  await app.register(tokenAuth, {
    secret,
    store,
    passwords: { bcryptCost: 10 },
    revocation: { syncInterval: `${SYNC_INTERVAL_MS}ms`, maxStaleness: `${MAX_STALENESS_MS}ms` },
    apiKeys: {}
  })
  app.get('/me', { onRequest: app.authenticate, config: { allowApiKeys: true } }, async (request) => ({ sub: request.user.sub }))
  await app.ready()
  return { app, store }
}

async function status (app, key) {
  return (await app.inject({ url: '/me', headers: { authorization: `Bearer ${key}` } })).statusCode
}

/**
 * `trials` times: a key used on A and B (both cache it), revoked through A; the time from
 * the revocation's return until B first answers 401, polling every millisecond or so.
 */
export async function runKeyRevocation ({ trials, onProgress }) {
  const target = await database()
  const secret = randomBytes(32).toString('base64url')
  const pools = [target.pool(), target.pool()]
  const instances = []
  try {
    for (const pool of pools) instances.push(await instance(pool, target.tablePrefix, secret))
    const [a, b] = instances.map((entry) => entry.app)
    const user = await a.tokenAuth.accounts.createUser({ username: 'bench', password: 'correct horse battery staple' })
    const samples = []
    let refusedAtOnceOnA = 0
    let neverRefused = 0
    for (let trial = 0; trial < trials; trial++) {
      onProgress?.(`API key revocation across instances (${target.name}): trial ${trial + 1}/${trials}`)
      const { key, apiKey } = await a.tokenAuth.apiKeys.create(user.id, { name: `trial ${trial}`, scopes: [] })
      if (await status(a, key) !== 200 || await status(b, key) !== 200) throw new Error('a new key was refused')
      await a.tokenAuth.apiKeys.revoke(user.id, apiKey.id)
      const revoked = performance.now()
      if (await status(a, key) === 401) refusedAtOnceOnA++
      let elapsed
      while ((elapsed = performance.now() - revoked) < GIVE_UP_MS) {
        if (await status(b, key) === 401) break
        await sleep(1)
      }
      if (elapsed >= GIVE_UP_MS) neverRefused++
      else samples.push(elapsed)
      // Apart from one another, so that trials fall at every point of B's sync cycle.
      await sleep(Math.random() * SYNC_INTERVAL_MS)
    }
    return {
      database: target.name,
      trials,
      medianMs: samples.length === 0 ? GIVE_UP_MS : median(samples),
      maxMs: samples.length === 0 ? GIVE_UP_MS : Math.max(...samples),
      neverRefused,
      refusedAtOnceOnA,
      boundMs: MAX_STALENESS_MS,
      syncIntervalMs: SYNC_INTERVAL_MS
    }
  } finally {
    for (const { app } of instances) await app.close()
    if (target.name === 'PostgreSQL' && instances.length > 0) await instances[0].store.rollback()
    for (const pool of pools) await pool.destroy()
    await target.cleanup()
  }
}
