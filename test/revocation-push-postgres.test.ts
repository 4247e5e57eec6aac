import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import knex, { type Knex } from 'knex'
import tokenAuth, { loginRoutes } from 'fastify-token-auth'
import { createKnexStore, type KnexStoreOptions } from 'fastify-token-auth/knex'
import type { RevocationWatch } from '../lib/store/ports.js'
import { revocationAppender } from '../lib/store/knex/revocations.js'
import { tableNames } from '../lib/store/knex/table-names.js'
import { PASSWORD, SECRET } from './helpers/app.js'
import { knexConfig, openDatabase, serverUrl, type TestDatabase } from './helpers/databases.js'
import { bearer } from './helpers/forge.js'
import { login } from './helpers/session.js'
import { TcpProxy, throughProxy } from './helpers/tcp-proxy.js'

// Revocation push on a real PostgreSQL: instances whose next poll is half an hour away
// still refuse a revoked token at once, because the revocation was announced.

const skip = process.env.TEST_PG_URL === undefined ? 'TEST_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)' : false
if (skip !== false) console.log(`# skipping the PostgreSQL revocation push tests: ${skip}`)
const skipMySql = process.env.TEST_MYSQL_URL === undefined ? 'TEST_MYSQL_URL is not set (e.g. mysql://root@127.0.0.1:3306/test)' : false

// Polling so rare that only the push can explain a revocation arriving during a test.
const SLOW_POLLS = { syncInterval: '30m', maxStaleness: '1h' }
const FAR = 4_000_000_000

/** Polls `condition` until it holds; false after a generous bound (a hang, not a timing). */
async function eventually (condition: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

async function instance (t: Test, pool: Knex, prefix: string, options: { push?: boolean, store?: Partial<KnexStoreOptions> } = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  const store = createKnexStore({ knex: pool, tablePrefix: prefix, ...options.store })
  await store.migrate()
  await app.register(tokenAuth, { secret: SECRET, store, passwords: { bcryptCost: 10 }, revocation: { ...SLOW_POLLS, push: options.push ?? true } })
  await app.register(loginRoutes, { prefix: '/auth' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  return app
}

/** Backends LISTENing on this test's own channel (other tests' prefixes differ). */
async function listeners (db: TestDatabase): Promise<Array<{ pid: number }>> {
  const { rows } = await db.knex.raw('select pid from pg_stat_activity where query = ?', [`LISTEN "${db.prefix}revocations_appended"`])
  return rows
}

async function status (app: FastifyInstance, token: string): Promise<number> {
  return (await app.inject({ url: '/me', headers: bearer(token) })).statusCode
}

t.test('a logout on one instance is refused on another at once, though its next poll is half an hour away', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const a = await instance(t, db.knex, db.prefix)
  const b = await instance(t, db.connect(), db.prefix)
  await a.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  t.ok(await eventually(async () => (await listeners(db)).length === 2), 'each instance listens')
  const session = await login(a)
  t.equal(await status(b, session.accessToken), 200, 'valid, and cached on B')
  t.equal((await a.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })).statusCode, 204)
  const started = performance.now()
  t.ok(await eventually(async () => await status(b, session.accessToken) === 401), 'refused on B')
  t.comment(`propagated in about ${Math.round(performance.now() - started)} ms (informative only)`)
})

t.test('a revocation appended in a transaction that rolls back announces nothing; one that commits announces once', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const store = createKnexStore({ knex: db.knex, tablePrefix: db.prefix })
  await store.migrate()
  let announced = 0
  const lives: boolean[] = []
  const watch = (store.revocations.watch as NonNullable<typeof store.revocations.watch>)({ appended: () => { announced++ }, statusChanged: (live) => { lives.push(live) } })
  t.teardown(async () => { await watch.close() })
  t.ok(await eventually(() => lives.includes(true)))

  const tables = tableNames(db.prefix)
  const revocation = { kind: 'token' as const, subject: 'rolled-back', version: 0, expiresAt: FAR }
  const trx = await db.knex.transaction()
  await revocationAppender(tables, `${db.prefix}revocations_appended`)(trx, revocation, Math.floor(Date.now() / 1000))
  await trx.rollback()
  await store.revocations.append({ ...revocation, subject: 'committed' }, Math.floor(Date.now() / 1000))
  // Announcements arrive in commit order: had the rollback announced, it would come first.
  t.ok(await eventually(() => announced > 0))
  t.equal(announced, 1)
  t.same((await store.revocations.list({ afterId: 0 })).map((stored) => stored.subject), ['committed'])
})

t.test('a listening connection the server terminates is reported lost, reopened, and reported live again', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const store = createKnexStore({ knex: db.knex, tablePrefix: db.prefix })
  await store.migrate()
  const lives: boolean[] = []
  let announced = 0
  const watch = (store.revocations.watch as NonNullable<typeof store.revocations.watch>)({ appended: () => { announced++ }, statusChanged: (live) => { lives.push(live) } })
  t.teardown(async () => { await watch.close() })
  t.ok(await eventually(() => lives.length === 1))
  const [listener] = await listeners(db)
  await db.knex.raw('select pg_terminate_backend(?)', [listener.pid])
  t.ok(await eventually(() => lives.length === 3), String(lives))
  t.same(lives, [true, false, true])
  t.notSame(await listeners(db), [listener], 'a new backend')
  await store.revocations.append({ kind: 'token', subject: 'after', version: 0, expiresAt: FAR }, Math.floor(Date.now() / 1000))
  t.ok(await eventually(() => announced === 1), 'the new connection hears announcements')
})

t.test('a revocation appended while the push was down is read when it comes back', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const a = await instance(t, db.knex, db.prefix)
  const target = new URL(serverUrl('postgres'))
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port === '' ? 5432 : target.port) })
  const pool = knex(knexConfig('postgres', throughProxy(serverUrl('postgres'), proxy)))
  t.teardown(async () => {
    await proxy.cut()
    await pool.destroy()
  })
  const b = await instance(t, pool, db.prefix)
  await a.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  t.ok(await eventually(async () => (await listeners(db)).length === 2))
  const session = await login(a)
  t.equal(await status(b, session.accessToken), 200)

  await proxy.cut()
  t.ok(await eventually(async () => (await listeners(db)).length === 1), 'B no longer listens')
  t.equal((await a.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })).statusCode, 204)
  await proxy.restore()
  // No announcement reached B; only its wake on reconnect can read the logout before its next poll.
  t.ok(await eventually(async () => await status(b, session.accessToken) === 401), 'refused on B after it reconnected')
})

t.test('with revocation.push or the store\'s notify off, no instance listens; a closed app leaves no listening connection', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const app = await instance(t, db.knex, db.prefix)
  t.ok(await eventually(async () => (await listeners(db)).length === 1))
  await app.close()
  t.ok(await eventually(async () => (await listeners(db)).length === 0), 'closed with the app')

  const off = await instance(t, db.connect(), db.prefix, { push: false })
  const silent = await instance(t, db.connect(), db.prefix, { store: { notify: false } })
  t.same(await listeners(db), [], 'neither listens')
  await off.close()
  await silent.close()
})

t.test('on MySQL the store has no watch', { skip: skipMySql }, async (t) => {
  const db = await openDatabase(t, 'mysql')
  t.equal(createKnexStore({ knex: db.knex, tablePrefix: db.prefix }).revocations.watch, undefined)
})

t.test('a listener that could not hold a connection goes quietly when closed', { skip }, async (t) => {
  const db = await openDatabase(t, 'postgres')
  const store = createKnexStore({ knex: db.knex, tablePrefix: db.prefix })
  await store.migrate()
  const watches: RevocationWatch[] = []
  for (let i = 0; i < 3; i++) watches.push((store.revocations.watch as NonNullable<typeof store.revocations.watch>)({ appended: () => {}, statusChanged: () => {} }))
  await Promise.all(watches.map(async (watch) => { await watch.close() }))
  t.ok(await eventually(async () => (await listeners(db)).length === 0), 'none left behind')
})
