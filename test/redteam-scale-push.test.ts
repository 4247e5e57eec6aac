import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import knex, { type Knex } from 'knex'
import tokenAuth, { loginRoutes, type TokenAuthOptions } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { RevocationList, type StoredRevocation } from '../lib/sessions/revocation-list.js'
import { RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'
import { startRevocationPush } from '../lib/sessions/revocation-push.js'
import type { RevocationWatcher } from '../lib/store/ports.js'
import { postgresListenConnection } from '../lib/store/knex/postgres-push.js'
import { revocationAppender } from '../lib/store/knex/revocations.js'
import { tableNames } from '../lib/store/knex/table-names.js'
import { PASSWORD, SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { openDatabase, type TestDatabase } from './helpers/databases.js'
import { bearer } from './helpers/forge.js'
import { login } from './helpers/session.js'

// Red team on revocation push: a poll abandoned at its timeout while a woken one runs,
// a burst of announcements, revocations committed out of id order on PostgreSQL (READ
// COMMITTED: the later id commits first and its announcement wakes a poll that cannot see
// the earlier one), an instance started while such a transaction is open, and forged
// announcements while the feed cannot be read.

const skip = process.env.TEST_PG_URL === undefined ? 'TEST_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)' : false
if (skip !== false) console.log(`# skipping the PostgreSQL red-team push tests: ${skip}`)

const FAR = 4_000_000_000

function row (id: number, subject = `jti-${id}`): StoredRevocation {
  return { id, kind: 'token', subject, version: 0, expiresAt: FAR, createdAt: 0 }
}

/** Polls `condition` until it holds; false after a generous bound (a hang, not a timing). */
async function eventually (condition: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

/** Lets every pending promise callback run (no timers involved). */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** A feed answering at once, or, once held, only when the test answers each read. */
class HeldFeed implements RevocationFeed {
  rows: StoredRevocation[] = []
  held = false
  reads = 0
  readonly waiting: Array<(rows: StoredRevocation[]) => void> = []

  list = async ({ afterId }: { afterId: number }): Promise<StoredRevocation[]> => {
    this.reads++
    if (this.held) return await new Promise((resolve) => { this.waiting.push(resolve) })
    return this.rows.filter((stored) => stored.id > afterId)
  }
}

t.test('a poll abandoned at its timeout applies nothing it reads later, while the woken poll after it applies what it reads', async (t) => {
  const feed = new HeldFeed()
  const list = new RevocationList()
  const clock = new TestClock(1_800_000_000_000)
  const sync = new RevocationSync({ feed, list, clock, intervalMs: 3_600_000, maxStalenessMs: 7_200_000, gapTimeoutMs: 30_000, lateGapRetentionMs: 3_600_000, pollTimeoutMs: 30, onStatusChange: () => {} })
  await sync.start()
  t.teardown(async () => { await sync.stop() })
  feed.held = true
  sync.wake()
  sync.wake()
  t.ok(await eventually(() => feed.waiting.length === 2), 'the first poll was abandoned and the woken one is reading')
  feed.waiting[1]([row(1)])
  t.ok(await eventually(() => list.isRevoked({ jti: 'jti-1' })), 'the woken poll applied its read')
  // The abandoned poll's read comes back late, with a row nobody else has read.
  feed.waiting[0]([row(1), row(9, 'ghost')])
  await settle()
  t.notOk(list.isRevoked({ jti: 'ghost' }), 'nothing of the abandoned poll was applied')
  feed.held = false
  feed.rows = [row(1), row(2), row(9, 'ghost')]
  sync.wake()
  t.ok(await eventually(() => list.isRevoked({ jti: 'jti-2' }) && list.isRevoked({ jti: 'ghost' })), 'the next poll reads on from the woken one\'s state')
})

t.test('200 announcements at once during a poll add exactly one poll', async (t) => {
  const feed = new HeldFeed()
  const list = new RevocationList()
  const sync = new RevocationSync({ feed, list, clock: new TestClock(), intervalMs: 3_600_000, maxStalenessMs: 7_200_000, gapTimeoutMs: 30_000, lateGapRetentionMs: 3_600_000, onStatusChange: () => {} })
  await sync.start()
  t.teardown(async () => { await sync.stop() })
  let watcher: RevocationWatcher | undefined
  const watch = startRevocationPush((w) => { watcher = w; return { close: async () => {} } }, sync, { info: () => {}, warn: () => {} }, 1000)
  t.teardown(async () => { await watch.close() })
  feed.held = true
  for (let i = 0; i < 200; i++) watcher?.appended()
  await settle()
  t.equal(feed.reads, 2, 'one poll runs')
  feed.held = false
  feed.waiting[0]([])
  t.ok(await eventually(() => feed.reads === 3))
  await settle()
  t.equal(feed.reads, 3, 'one more poll for the 199 that came during it, and no more')
})

// Polling so rare that only the push can explain a revocation arriving during a test.
const SLOW_POLLS = { syncInterval: '30m', maxStaleness: '1h' }

async function instance (t: Test, pool: Knex, prefix: string, options: Partial<TokenAuthOptions> = {}, onRead = (): void => {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  const store = createKnexStore({ knex: pool, tablePrefix: prefix })
  await store.migrate()
  const list = store.revocations.list
  store.revocations.list = async (query) => { onRead(); return await list(query) }
  await app.register(tokenAuth, { secret: SECRET, store, passwords: { bcryptCost: 10 }, revocation: SLOW_POLLS, ...options })
  await app.register(loginRoutes, { prefix: '/auth' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  return app
}

async function listening (db: TestDatabase): Promise<number> {
  const { rows } = await db.knex.raw('select pid from pg_stat_activity where query = ?', [`LISTEN "${db.prefix}revocations_appended"`])
  return rows.length
}

async function status (app: FastifyInstance, token: string): Promise<number> {
  return (await app.inject({ url: '/me', headers: bearer(token) })).statusCode
}

const jtiOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti

/** Appends a revocation of `token` in a transaction left open on a connection of its own: its id is taken, its row unseen. */
async function openRevocation (t: Test, db: TestDatabase, token: string): Promise<Knex.Transaction> {
  const trx = await db.connect().transaction()
  t.teardown(async () => { if (!trx.isCompleted()) await trx.rollback() })
  await revocationAppender(tableNames(db.prefix), `${db.prefix}revocations_appended`)(trx, { kind: 'token', subject: jtiOf(token), version: 0, expiresAt: FAR }, Math.floor(Date.now() / 1000))
  return trx
}

t.test('a revocation whose transaction commits after a later id\'s is read at once on its own announcement, though the poll the later one woke could not see it', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const a = await instance(t, db.knex, db.prefix)
  const b = await instance(t, db.connect(), db.prefix)
  await a.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  t.ok(await eventually(async () => await listening(db) === 2))
  const first = await login(a)
  const second = await login(a)
  t.equal(await status(b, first.accessToken), 200)

  const slow = await openRevocation(t, db, first.accessToken)
  t.equal((await a.inject({ method: 'POST', url: '/auth/logout', headers: bearer(second.accessToken) })).statusCode, 204)
  t.ok(await eventually(async () => await status(b, second.accessToken) === 401), 'the later id, committed first, is read at once')
  t.equal(await status(b, first.accessToken), 200, 'the earlier id is not committed yet')
  await slow.commit()
  t.ok(await eventually(async () => await status(b, first.accessToken) === 401), 'the earlier id is read on its own announcement')
})

t.test('an instance that starts while a revocation\'s transaction is open reads it once it commits', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const a = await instance(t, db.knex, db.prefix)
  await a.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  const first = await login(a)
  const second = await login(a)
  const slow = await openRevocation(t, db, first.accessToken)
  t.equal((await a.inject({ method: 'POST', url: '/auth/logout', headers: bearer(second.accessToken) })).statusCode, 204)

  const late = await instance(t, db.connect(), db.prefix)
  t.equal(await status(late, second.accessToken), 401, 'its first poll read the committed logout')
  t.equal(await status(late, first.accessToken), 200)
  t.ok(await eventually(async () => await listening(db) === 2))
  await slow.commit()
  t.ok(await eventually(async () => await status(late, first.accessToken) === 401), 'and the one committed after it started')
})

t.test('forged announcements while the feed cannot be read never make a stale list trusted; a readable feed then does', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const clock = new TestClock()
  const pool = db.connect()
  let reads = 0
  const app = await instance(t, pool, db.prefix, { clock, revocation: { syncInterval: '4m', maxStaleness: '5m' } }, () => { reads++ })
  await app.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  t.ok(await eventually(async () => await listening(db) === 1))
  const session = await login(app)
  t.equal(await status(app, session.accessToken), 200)

  const table = `${db.prefix}revocations`
  await db.knex.schema.renameTable(table, `${table}_away`)
  t.teardown(async () => { if (await db.knex.schema.hasTable(`${table}_away`)) await db.knex.schema.renameTable(`${table}_away`, table) })
  clock.advance(6 * 60_000)
  const forge = async (): Promise<void> => { await db.knex.raw('select pg_notify(?, ?)', [`${db.prefix}revocations_appended`, 'forged']) }
  const refused = async (): Promise<boolean> => {
    await forge()
    const res = await app.inject({ url: '/me', headers: bearer(session.accessToken) })
    return res.statusCode === 503 && res.json().code === 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE'
  }
  const readsBefore = reads
  for (let i = 0; i < 20; i++) t.ok(await refused(), `still 503 after ${i + 1} forged announcements`)
  t.ok(await eventually(() => reads > readsBefore), 'the forged announcements did wake polls (which failed)')
  t.ok(await refused(), 'and still 503 after them')

  await db.knex.schema.renameTable(`${table}_away`, table)
  t.ok(await eventually(async () => { await forge(); return await status(app, session.accessToken) === 200 }), 'an announcement after the feed is back brings a successful poll, which alone makes the list fresh')
})

t.test('200 revocations committed at once on PostgreSQL: every one is read, one poll at a time', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const store = createKnexStore({ knex: db.connect(), tablePrefix: db.prefix })
  await store.migrate()
  let reading = 0
  let mostAtOnce = 0
  let reads = 0
  const list = store.revocations.list
  store.revocations.list = async (query) => {
    reads++
    mostAtOnce = Math.max(mostAtOnce, ++reading)
    try {
      return await list(query)
    } finally {
      reading--
    }
  }
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET, store, passwords: { bcryptCost: 10 }, revocation: SLOW_POLLS })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  t.ok(await eventually(async () => await listening(db) === 1))
  const before = reads
  const writer = createKnexStore({ knex: db.knex, tablePrefix: db.prefix })
  const tokens = await Promise.all(Array.from({ length: 200 }, async (_, i) => await app.tokenAuth.sign({ sub: `user-${i}` })))
  await Promise.all(tokens.map(async (token) => { await writer.revocations.append({ kind: 'token', subject: jtiOf(token), version: 0, expiresAt: FAR }, Math.floor(Date.now() / 1000)) }))
  t.ok(await eventually(async () => (await Promise.all(tokens.map(async (token) => await status(app, token)))).every((code) => code === 401)), 'every one refused')
  t.equal(mostAtOnce, 1, 'never two reads at once')
  t.comment(`${reads - before} feed reads for 200 announcements (informative only)`)
})

t.test('the listening connection probes a silent peer within seconds, not after the operating system\'s two idle hours', async (t) => {
  const pool = knex({ client: 'pg', connection: 'postgres://nobody@127.0.0.1:9/none', pool: { min: 0, max: 1 } })
  t.teardown(async () => { await pool.destroy() })
  const connection = postgresListenConnection(pool)() as unknown as { connection: { _keepAlive: boolean, _keepAliveInitialDelayMillis: number } }
  t.equal(connection.connection._keepAlive, true)
  // 0 leaves the first probe to the system (Linux: 7200 s): a listener cut off silently would pass for live that long.
  const delay = connection.connection._keepAliveInitialDelayMillis
  t.ok(delay > 0 && delay <= 30_000, `first keepalive probe after ${delay} ms of silence`)
})

t.test('a revocation whose transaction commits more than 30 s after its id was first seen missing is still read', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const a = await instance(t, db.knex, db.prefix)
  const clock = new TestClock()
  let reads = 0
  const b = await instance(t, db.connect(), db.prefix, { clock }, () => { reads++ })
  await a.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  t.ok(await eventually(async () => await listening(db) === 2))
  const first = await login(a)
  const second = await login(a)
  const slow = await openRevocation(t, db, first.accessToken)
  t.equal((await a.inject({ method: 'POST', url: '/auth/logout', headers: bearer(second.accessToken) })).statusCode, 204)
  t.ok(await eventually(async () => await status(b, second.accessToken) === 401), 'the later id is read, the earlier one noticed missing')
  clock.advance(31_000)
  const readsBefore = reads
  await db.knex.raw('select pg_notify(?, ?)', [`${db.prefix}revocations_appended`, ''])
  t.ok(await eventually(() => reads > readsBefore), 'a poll 31 s later')
  await slow.commit()
  t.ok(await eventually(async () => await status(b, first.accessToken) === 401), 'the late commit is read')
})
