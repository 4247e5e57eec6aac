import { EventEmitter } from 'node:events'
import t from 'tap'
import knex, { type Knex } from 'knex'
import { createAuthCore, createMemoryStore, type CoreLogger } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import type { RevocationWatcher } from '../lib/store/ports.js'
import { RevocationList, type StoredRevocation } from '../lib/sessions/revocation-list.js'
import { RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'
import { startRevocationPush } from '../lib/sessions/revocation-push.js'
import { listenOnChannel, retryDelay, type ListenConnection } from '../lib/store/knex/channel-listener.js'
import { isPostgres, postgresListenConnection, revocationChannel } from '../lib/store/knex/postgres-push.js'
import { revocationAppender } from '../lib/store/knex/revocations.js'
import { tableNames } from '../lib/store/knex/table-names.js'
import { SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'

// Revocation push without a database: the sync's wake, the core's wiring, the listener's
// reconnects over a fake connection, and the knex store's PostgreSQL parts that need no server.

const FAR = 4_000_000_000

function row (id: number): StoredRevocation {
  return { id, kind: 'token', subject: `jti-${id}`, version: 0, expiresAt: FAR, createdAt: 0 }
}

/** Lets every pending promise callback run (no timers involved). */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Polls `condition` until it holds; false after a generous bound (a hang, not a timing). */
async function eventually (condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

/** A feed whose reads wait for release() while `gated`, so a test decides when a poll ends. */
class GatedFeed implements RevocationFeed {
  rows: StoredRevocation[] = []
  gated = false
  failing = false
  reads = 0
  readonly #waiting: Array<() => void> = []

  get pending (): number { return this.#waiting.length }

  release (): void {
    for (const resume of this.#waiting.splice(0)) resume()
  }

  list = async ({ afterId }: { afterId: number }): Promise<StoredRevocation[]> => {
    this.reads++
    if (this.gated) await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
    if (this.failing) throw new Error('connection refused')
    return this.rows.filter((stored) => stored.id > afterId)
  }
}

function syncOver (feed: GatedFeed, options: { intervalMs?: number, clock?: TestClock } = {}): { sync: RevocationSync, list: RevocationList, clock: TestClock } {
  const list = new RevocationList()
  const clock = options.clock ?? new TestClock(1_800_000_000_000)
  const sync = new RevocationSync({ feed, list, clock, intervalMs: options.intervalMs ?? 3_600_000, maxStalenessMs: 7_200_000, gapTimeoutMs: 30_000, lateGapRetentionMs: 3_600_000, onStatusChange: () => {} })
  return { sync, list, clock }
}

t.test('a wake polls at once instead of waiting for the timer', async (t) => {
  const feed = new GatedFeed()
  const { sync, list } = syncOver(feed)
  await sync.start()
  t.teardown(async () => { await sync.stop() })
  feed.rows.push(row(1))
  sync.wake()
  await settle()
  t.ok(list.isRevoked({ jti: 'jti-1' }), 'read an hour before the timer would have')
})

t.test('wakes during a poll add exactly one more poll after it, however many there were', async (t) => {
  const feed = new GatedFeed()
  const { sync, list } = syncOver(feed)
  await sync.start()
  t.teardown(async () => { await sync.stop() })
  feed.gated = true
  sync.wake()
  await settle()
  t.equal(feed.reads, 2, 'the woken poll reads')
  feed.rows.push(row(1))
  for (let i = 0; i < 5; i++) sync.wake()
  await settle()
  t.equal(feed.reads, 2, 'no second poll while one runs')
  feed.release()
  await settle()
  t.equal(feed.reads, 3, 'one poll after it, for the five wakes')
  feed.release()
  await settle()
  t.equal(feed.reads, 3, 'and no more')
  t.ok(list.isRevoked({ jti: 'jti-1' }), 'the extra poll saw what was appended during the first')
})

t.test('a wake before start or after stop polls nothing', async (t) => {
  const feed = new GatedFeed()
  const { sync } = syncOver(feed)
  sync.wake()
  await settle()
  t.equal(feed.reads, 0, 'not before start')
  await sync.start()
  await sync.stop()
  sync.wake()
  await settle()
  t.equal(feed.reads, 1, 'not after stop')
})

t.test('stop during a woken poll waits for it and runs no extra poll, even with a wake pending', async (t) => {
  const feed = new GatedFeed()
  const { sync } = syncOver(feed)
  await sync.start()
  feed.gated = true
  sync.wake()
  await settle()
  sync.wake()
  const stopped = sync.stop()
  feed.release()
  await stopped
  await settle()
  t.equal(feed.reads, 2, 'the initial poll and the woken one')
})

t.test('a wake never makes a stale list fresh: freshness still comes only from polls that succeed', async (t) => {
  const feed = new GatedFeed()
  const { sync, clock } = syncOver(feed)
  await sync.start()
  t.teardown(async () => { await sync.stop() })
  clock.advance(7_200_001)
  t.notOk(sync.isFresh(), 'stale')
  feed.failing = true
  sync.wake()
  await settle()
  t.notOk(sync.isFresh(), 'a failed woken poll proves nothing')
  feed.failing = false
  sync.wake()
  await settle()
  t.ok(sync.isFresh(), 'a woken poll that succeeds counts like any other')
})

t.test('the regular timer goes on after a woken poll', async (t) => {
  const feed = new GatedFeed()
  const { sync } = syncOver(feed, { intervalMs: 5 })
  await sync.start()
  t.teardown(async () => { await sync.stop() })
  sync.wake()
  await settle()
  const reads = feed.reads
  t.ok(await eventually(() => feed.reads > reads + 2), 'timer polls follow')
})

function recordingLog (): { log: CoreLogger, lines: string[] } {
  const lines: string[] = []
  const record = (level: string) => (first: unknown, second?: string): void => { lines.push(`${level}: ${typeof first === 'string' ? first : String(second)}`) }
  return { log: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }, lines }
}

t.test('a push wakes the sync on each announcement and on each (re)connect, and logs when it is lost', async (t) => {
  let watcher: RevocationWatcher | undefined
  let wakes = 0
  const { log, lines } = recordingLog()
  const watch = startRevocationPush((given) => { watcher = given; return { close: async () => {} } }, { wake: () => { wakes++ } }, log, 30_000)
  t.ok(watch)
  const told = watcher as RevocationWatcher
  told.appended()
  t.equal(wakes, 1)
  told.statusChanged(false, new Error('connection reset'))
  t.equal(wakes, 1, 'losing the push wakes nothing')
  told.statusChanged(true)
  t.equal(wakes, 2, 'a reconnect reads what was announced while away')
  t.same(lines, ['warn: revocation push lost; polling every 30 s until it is back', 'info: revocation push is live'])
})

/** A memory store with a fake watch that records its watcher and how often it was closed. */
function watchedStore (): { store: ReturnType<typeof createMemoryStore>, watchers: RevocationWatcher[], closed: () => number } {
  const store = createMemoryStore()
  const watchers: RevocationWatcher[] = []
  let closed = 0
  store.revocations.watch = (watcher) => {
    watchers.push(watcher)
    return { close: async () => { closed++ } }
  }
  return { store, watchers, closed: () => closed }
}

t.test('the core watches after its first sync, reads the feed on each announcement, and closes the watch when it stops', async (t) => {
  const { store, watchers, closed } = watchedStore()
  const { log, lines } = recordingLog()
  const core = createAuthCore({ secret: SECRET, store, revocation: { syncInterval: '30m', maxStaleness: '1h' } }, { log })
  t.equal(watchers.length, 0, 'nothing before start')
  await core.start()
  t.equal(watchers.length, 1)
  // Another instance revokes a token in the shared store: only the push can explain reading it within half an hour.
  await store.revocations.append({ kind: 'token', subject: 'jti-elsewhere', version: 0, expiresAt: FAR }, Date.now())
  const revocations = (core.stateful as NonNullable<typeof core.stateful>).revocations
  t.notOk(revocations.isRevoked({ jti: 'jti-elsewhere' }))
  watchers[0].appended()
  t.ok(await eventually(() => revocations.isRevoked({ jti: 'jti-elsewhere' })))
  watchers[0].statusChanged(false, new Error('connection reset'))
  t.ok(lines.includes('warn: revocation push lost; polling every 1800 s until it is back'), lines.join('\n'))
  await core.stop()
  t.equal(closed(), 1)
})

t.test('with revocation.push off, or a core stopped before it started, nothing is watched', async (t) => {
  const off = watchedStore()
  const core = createAuthCore({ secret: SECRET, store: off.store, revocation: { push: false } })
  await core.start()
  await core.stop()
  t.equal(off.watchers.length, 0, 'push: false')

  const early = watchedStore()
  const stopped = createAuthCore({ secret: SECRET, store: early.store })
  const starting = stopped.start()
  await stopped.stop()
  await starting
  t.equal(early.watchers.length, 0, 'stopped during its first sync')
  await stopped.stop()
})

t.test('a core whose store has no watch polls as before', async (t) => {
  const core = createAuthCore({ secret: SECRET, store: createMemoryStore() })
  await core.start()
  await core.stop()
  t.pass()
})

/** A connection whose connect, LISTEN and end the test settles. */
class FakeConnection extends EventEmitter implements ListenConnection {
  queries: string[] = []
  ended = 0
  connectWith: 'ok' | 'fail' | 'hang' = 'ok'
  listenWith: 'ok' | 'fail' | 'hang' = 'ok'
  endWith: 'ok' | 'fail' | 'hang' = 'ok'
  #lateConnect: (() => void) | undefined
  #lateListen: (() => void) | undefined

  async connect (): Promise<void> {
    if (this.connectWith === 'fail') throw new Error('ECONNREFUSED')
    if (this.connectWith === 'hang') await new Promise<void>((resolve) => { this.#lateConnect = resolve })
  }

  /** Ends a hung connect successfully, late. */
  connectLate (): void { this.#lateConnect?.() }

  async query (sql: string): Promise<void> {
    this.queries.push(sql)
    if (this.listenWith === 'fail') throw new Error('permission denied')
    if (this.listenWith === 'hang') await new Promise<void>((resolve) => { this.#lateListen = resolve })
  }

  /** Ends a hung LISTEN successfully, late. */
  listenLate (): void { this.#lateListen?.() }

  async end (): Promise<void> {
    this.ended++
    if (this.endWith === 'fail') throw new Error('already ended')
    if (this.endWith === 'hang') await new Promise(() => {})
  }
}

/** Every connection the listener opened, each shaped by `prepare` before use, and what the watcher heard. */
function fakeListener (prepare: (connection: FakeConnection, index: number) => void = () => {}, options: { connectTimeoutMs?: number, closeTimeoutMs?: number, firstRetryMs?: number } = {}): { connections: FakeConnection[], statuses: Array<[boolean, unknown]>, appended: () => number, watch: ReturnType<typeof listenOnChannel> } {
  const connections: FakeConnection[] = []
  const statuses: Array<[boolean, unknown]> = []
  let appended = 0
  const watch = listenOnChannel({
    open: () => {
      const connection = new FakeConnection()
      prepare(connection, connections.length)
      connections.push(connection)
      return connection
    },
    channel: 'auth_revocations_appended',
    watcher: { appended: () => { appended++ }, statusChanged: (live, error) => { statuses.push([live, error]) } },
    firstRetryMs: 1,
    maxRetryMs: 4,
    random: () => 0.5,
    ...options
  })
  return { connections, statuses, appended: () => appended, watch }
}

t.test('the listener LISTENs on its quoted channel, reports itself live, and announces only its own channel', async (t) => {
  const { connections, statuses, appended, watch } = fakeListener()
  await settle()
  t.same(connections[0].queries, ['LISTEN "auth_revocations_appended"'])
  t.same(statuses, [[true, undefined]])
  connections[0].emit('notification', { channel: 'auth_revocations_appended', payload: 'ignored' })
  connections[0].emit('notification', { channel: 'other_channel' })
  t.equal(appended(), 1)
  await watch.close()
  t.equal(connections[0].ended, 1)
})

t.test('a lost connection is reported once, reopened after a backoff, and reported live again', async (t) => {
  const { connections, statuses, appended, watch } = fakeListener()
  t.teardown(async () => { await watch.close() })
  await settle()
  const reset = new Error('terminating connection due to administrator command')
  connections[0].emit('error', reset)
  connections[0].emit('end')
  connections[0].emit('notification', { channel: 'auth_revocations_appended' })
  t.equal(appended(), 0, 'an old connection announces nothing')
  t.equal(connections[0].ended, 1, 'the lost connection is closed')
  t.ok(await eventually(() => statuses.length === 3))
  t.same(statuses, [[true, undefined], [false, reset], [true, undefined]])
  t.equal(connections.length, 2)
  connections[1].emit('end')
  t.ok(await eventually(() => statuses.length === 5))
  t.match(statuses[3], [false, { message: 'the listening connection ended' }])
})

t.test('failed connects, LISTENs and opens are retried, and reported lost only once', async (t) => {
  const { connections, statuses, watch } = fakeListener((connection, index) => {
    if (index === 0) connection.connectWith = 'fail'
    if (index === 1) connection.listenWith = 'fail'
  })
  t.teardown(async () => { await watch.close() })
  t.ok(await eventually(() => statuses.length === 2))
  t.match(statuses, [[false, { message: 'ECONNREFUSED' }], [true, undefined]])
  t.equal(connections.length, 3)

  let opens = 0
  const throwing = listenOnChannel({
    open: () => { if (opens++ === 0) throw new Error('invalid connection string'); return new FakeConnection() },
    channel: 'c',
    watcher: { appended: () => {}, statusChanged: (live, error) => { statuses.push([live, error]) } },
    firstRetryMs: 1
  })
  t.ok(await eventually(() => statuses.length === 4))
  t.match(statuses.slice(2), [[false, { message: 'invalid connection string' }], [true, undefined]])
  await throwing.close()
})

t.test('a connect that hangs times out, counts as a failure, and is retried', async (t) => {
  const { connections, statuses, watch } = fakeListener((connection, index) => {
    if (index === 0) connection.connectWith = 'hang'
  }, { connectTimeoutMs: 20 })
  t.teardown(async () => { await watch.close() })
  t.ok(await eventually(() => statuses.length === 2))
  t.match(statuses, [[false, { message: 'connecting to listen did not finish within 20 ms' }], [true, undefined]])
  t.equal(connections[0].ended, 1, 'the hung connection is closed')
  connections[0].connectLate()
  await settle()
  t.same(connections[0].queries, [], 'a late connect of a given-up connection LISTENs on nothing')
})

t.test('the retry delay doubles up to its cap, with jitter between half and all of it', async (t) => {
  t.equal(retryDelay(0, 100, 10_000, () => 0), 50)
  t.equal(retryDelay(0, 100, 10_000, () => 1), 100)
  t.equal(retryDelay(3, 100, 10_000, () => 1), 800)
  t.equal(retryDelay(7, 100, 10_000, () => 1), 10_000)
  t.equal(retryDelay(1000, 100, 10_000, () => 0.5), 7500)
})

t.test('close ends the connection, stops reconnecting, is idempotent, and returns even when the end hangs or fails', async (t) => {
  const hanging = fakeListener((connection) => { connection.endWith = 'hang' }, { closeTimeoutMs: 20 })
  await settle()
  const first = hanging.watch.close()
  t.equal(hanging.watch.close().constructor, Promise)
  await first
  await hanging.watch.close()
  t.equal(hanging.connections[0].ended, 1, 'ended once')
  hanging.connections[0].emit('end')
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(hanging.connections.length, 1, 'no reconnect after close')
  t.same(hanging.statuses, [[true, undefined]], 'closing is not a loss')

  const failing = fakeListener((connection) => { connection.endWith = 'fail' })
  await settle()
  await failing.watch.close()
  t.equal(failing.connections[0].ended, 1)
})

t.test('close during a connect or a backoff leaves nothing running', async (t) => {
  const connecting = fakeListener((connection) => { connection.connectWith = 'hang' })
  await connecting.watch.close()
  connecting.connections[0].connectLate()
  await settle()
  t.same(connecting.connections[0].queries, [], 'no LISTEN after close')
  t.same(connecting.statuses, [])

  const listening = fakeListener((connection) => { connection.listenWith = 'hang' })
  await settle()
  await listening.watch.close()
  listening.connections[0].listenLate()
  await settle()
  t.same(listening.statuses, [], 'a LISTEN that succeeds after close reports nothing')

  const backingOff = fakeListener((connection) => { connection.connectWith = 'fail' }, { firstRetryMs: 60_000 })
  await settle()
  t.equal(backingOff.connections.length, 1, 'waiting to retry')
  await backingOff.watch.close()
  const opened = backingOff.connections.length
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.equal(backingOff.connections.length, opened, 'no retry after close')
})

/** A knex pool on PostgreSQL that never connects (nothing listens on port 9). */
function unreachablePostgres (t: { teardown: (fn: () => Promise<void>) => void }, connection: string | Knex.StaticConnectionConfig): Knex {
  const pool = knex({ client: 'pg', connection, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 1000 })
  t.teardown(async () => { await pool.destroy() })
  return pool
}

t.test('on PostgreSQL the store offers a watch unless notify is false; on SQLite it has none', async (t) => {
  const pg = unreachablePostgres(t, 'postgres://nobody@127.0.0.1:9/none')
  t.ok(isPostgres(pg))
  t.type(createKnexStore({ knex: pg }).revocations.watch, 'function')
  t.equal(createKnexStore({ knex: pg, notify: false }).revocations.watch, undefined)
  const sqlite = knex({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true })
  t.teardown(async () => { await sqlite.destroy() })
  t.notOk(isPostgres(sqlite))
  t.equal(createKnexStore({ knex: sqlite }).revocations.watch, undefined)
  t.throws(() => createKnexStore({ knex: sqlite, notify: 'yes' as never }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /notify must be true or false; got "yes"/ })
})

t.test('the listening connection takes the pool settings, keepalive and a connect timeout, and a server that is not there is a loss', async (t) => {
  const fromUrl = postgresListenConnection(unreachablePostgres(t, 'postgres://nobody@127.0.0.1:9/none'))() as unknown as { connectionParameters: { application_name: string, port: number }, _connectionTimeoutMillis: number, connection: { _keepAlive: boolean } }
  t.equal(fromUrl.connectionParameters.port, 9)
  t.equal(fromUrl.connectionParameters.application_name, 'fastify-token-auth revocation push')
  t.equal(fromUrl._connectionTimeoutMillis, 10_000)
  t.equal(fromUrl.connection._keepAlive, true)
  const fromObject = postgresListenConnection(unreachablePostgres(t, { host: '127.0.0.1', port: 9, user: 'nobody', application_name: 'mine' }))() as unknown as typeof fromUrl
  t.equal(fromObject.connectionParameters.application_name, 'mine', 'yours wins')

  const statuses: boolean[] = []
  const store = createKnexStore({ knex: unreachablePostgres(t, 'postgres://nobody@127.0.0.1:9/none') })
  const watch = (store.revocations.watch as NonNullable<typeof store.revocations.watch>)({ appended: () => {}, statusChanged: (live) => { statuses.push(live) } })
  t.ok(await eventually(() => statuses.length > 0))
  t.same(statuses, [false])
  await watch.close()
})

t.test('each revocation append announces itself in its transaction on PostgreSQL, and only there', async (t) => {
  const tables = tableNames('auth_')
  t.equal(revocationChannel(tables), 'auth_revocations_appended')
  const calls: unknown[] = []
  const trx = Object.assign((table: string) => ({ insert: async (values: object) => { calls.push(['insert', table, values]) } }), {
    raw: async (sql: string, bindings: unknown[]) => { calls.push(['raw', sql, bindings]) }
  }) as unknown as Knex.Transaction
  const revocation = { kind: 'token' as const, subject: 'j1', version: 0, expiresAt: FAR }
  await revocationAppender(tables, 'auth_revocations_appended')(trx, revocation, 1_800_000_000)
  t.same(calls, [
    ['insert', 'auth_revocations', { kind: 'token', subject: 'j1', version: 0, expires_at: FAR, created_at: 1_800_000_000 }],
    ['raw', 'select pg_notify(?, \'\')', ['auth_revocations_appended']]
  ])
  calls.length = 0
  await revocationAppender(tables, undefined)(trx, revocation, 1_800_000_000)
  t.equal(calls.length, 1, 'no announcement without a channel')
})
