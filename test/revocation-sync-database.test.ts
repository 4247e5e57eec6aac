import t from 'tap'
import knex, { type Knex } from 'knex'
import { systemClock } from '../lib/clock.js'
import { createKnexStore } from 'fastify-token-auth/knex'
import { RevocationList } from '../lib/sessions/revocation-list.js'
import { RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'
import { knexConfig, openDatabase, serverUrl, type TestDatabase } from './helpers/databases.js'
import { TcpProxy, throughProxy } from './helpers/tcp-proxy.js'

// The revocation sync against a real PostgreSQL: ids that commit out of order, and a
// connection that silently stops answering.

const skip = process.env.TEST_PG_URL === undefined ? 'TEST_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)' : false
if (skip !== false) console.log(`# skipping the PostgreSQL revocation sync tests: ${skip}`)

const FAR = 4_000_000_000

/** The knex store's revocations table, under the test's own prefix (dropped by openDatabase). */
async function revocationsTable (db: TestDatabase): Promise<string> {
  await createKnexStore({ knex: db.knex, tablePrefix: db.prefix }).migrate()
  return `${db.prefix}revocations`
}

/** The knex store's own feed over `pool`, its read timeout far away: the sync's own poll timeout must do the work. */
function knexFeed (pool: Knex, db: TestDatabase): RevocationFeed {
  return createKnexStore({ knex: pool, tablePrefix: db.prefix, readTimeout: '10m' }).revocations
}

function tokenRow (subject: string, createdAt: number): Record<string, unknown> {
  return { kind: 'token', subject, version: 0, expires_at: FAR, created_at: Math.floor(createdAt) }
}

/** Polls `condition` until it holds; false after a generous bound (a hang, not a timing). */
async function eventually (condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 1500; i++) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

t.test('a new instance applies a revocation whose insert was uncommitted when it started', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const table = await revocationsTable(db)
  const nowSeconds = systemClock.now() / 1000
  await db.knex(table).insert(tokenRow('old', nowSeconds - 3600))
  const trx = await db.knex.transaction()
  t.teardown(async () => { if (!trx.isCompleted()) await trx.rollback() })
  await trx(table).insert(tokenRow('in-flight', nowSeconds))
  await db.knex(table).insert(tokenRow('committed', nowSeconds))

  const list = new RevocationList()
  const sync = new RevocationSync({ feed: knexFeed(db.knex, db), list, clock: systemClock, intervalMs: 50, maxStalenessMs: 5000, gapTimeoutMs: 30_000, lateGapRetentionMs: 3_600_000, onStatusChange: () => {} })
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'old' }) && list.isRevoked({ jti: 'committed' }))
  t.notOk(list.isRevoked({ jti: 'in-flight' }), 'not visible yet')

  await trx.commit()
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'in-flight' }), 'applied once it committed, though a higher id was read first')
})

t.test('a black-holed connection is abandoned, sync recovers once the network is back, and stop returns', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const table = await revocationsTable(db)
  const target = new URL(serverUrl('postgres'))
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port === '' ? 5432 : target.port) })
  // Through the proxy, with knex's own timeouts far longer than the poll timeout: the sync must not rely on them.
  const pool = knex({ ...knexConfig('postgres', throughProxy(serverUrl('postgres'), proxy)), acquireConnectionTimeout: 60_000 })
  t.teardown(async () => {
    await proxy.cut()
    await pool.destroy()
  })

  const list = new RevocationList()
  const statuses: boolean[] = []
  const sync = new RevocationSync({
    feed: knexFeed(pool, db),
    list,
    clock: systemClock,
    intervalMs: 20,
    maxStalenessMs: 300,
    gapTimeoutMs: 30_000,
    lateGapRetentionMs: 3_600_000,
    pollTimeoutMs: 150,
    onStatusChange: (healthy) => { statuses.push(healthy) }
  })
  await sync.start()
  t.ok(sync.isFresh(), 'in sync through the proxy')

  proxy.blackHole()
  await db.knex(table).insert(tokenRow('during', systemClock.now() / 1000))
  t.ok(await eventually(() => statuses.includes(false) && !sync.isFresh()), 'polls are abandoned and verification fails closed')
  t.notOk(list.isRevoked({ jti: 'during' }))

  await proxy.restore()
  t.ok(await eventually(() => sync.isFresh() && list.isRevoked({ jti: 'during' })), 'a poll on a new pool connection catches up')
  t.same(statuses, [false, true])

  proxy.blackHole()
  await new Promise((resolve) => setTimeout(resolve, 50))
  let stopped = false
  const stopping = sync.stop().then(() => { stopped = true })
  t.ok(await eventually(() => stopped), 'stop returns while a query hangs')
  await stopping
})
