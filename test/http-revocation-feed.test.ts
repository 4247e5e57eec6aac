import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import t, { type Test } from 'tap'
import { revocationFeed, type AuthStore } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { RemoteFetchError } from '../lib/remote/fetch-json.js'
import { createHttpRevocationFeed } from '../lib/remote/http-revocation-feed.js'
import { RevocationList } from '../lib/sessions/revocation-list.js'
import { RevocationSync, type RevocationFeed } from '../lib/sessions/revocation-sync.js'
import { buildSessionApp, storeWithAlice } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { openDatabase } from './helpers/databases.js'
import { login } from './helpers/session.js'

// A resource server's view of revocations: the auth service's feed read over HTTP, checked
// strictly, and kept in step by the same RevocationSync that instances use over the database.

const CREDENTIAL = 'Xq7vN2kR9pL4tW8yB3mZ6cD1sF5gJ0hA-uE_iO4oP8lQ2wYr'
const MAX_STALENESS_MS = 30_000

/** The auth service, really listening on a loopback port, with the feed under /auth. */
async function authService (t: Test, store?: AuthStore): Promise<{ app: FastifyInstance, feedUrl: URL, requested: string[] }> {
  const requested: string[] = []
  const { app } = await buildSessionApp(t, {
    store,
    setup: (app) => {
      app.register(revocationFeed, { prefix: '/auth', credentials: [CREDENTIAL] })
      app.addHook('onRequest', async (request) => { requested.push(request.url) })
    }
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, feedUrl: new URL('/auth/revocations', address), requested }
}

function client (url: URL, overrides: Partial<Parameters<typeof createHttpRevocationFeed>[0]> = {}): RevocationFeed {
  return createHttpRevocationFeed({ url, credential: CREDENTIAL, timeoutMs: 2000, maxBytes: 1 << 20, clock: new TestClock(), ...overrides })
}

function syncOver (feed: RevocationFeed, clock: TestClock, statuses: Array<[boolean, unknown]> = []): { sync: RevocationSync, list: RevocationList } {
  const list = new RevocationList()
  const sync = new RevocationSync({
    feed,
    list,
    clock,
    intervalMs: 60_000,
    maxStalenessMs: MAX_STALENESS_MS,
    gapTimeoutMs: 10_000,
    lateGapRetentionMs: 3_600_000,
    pollTimeoutMs: 5000,
    onStatusChange: (healthy, error) => { statuses.push([healthy, error]) }
  })
  return { sync, list }
}

const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())

t.test('a RevocationSync fed over HTTP picks up a logout', async (t) => {
  const { app, feedUrl } = await authService(t)
  const session = await login(app, { include_refresh_token: true })
  const other = await login(app)
  const clock = new TestClock()
  const { sync, list } = syncOver(client(feedUrl), clock)
  await sync.syncOnce()
  t.ok(sync.isFresh())
  t.notOk(list.isRevoked(claimsOf(session.accessToken)))
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${session.accessToken}` }, payload: { refresh_token: session.refreshToken } })
  t.equal(logout.statusCode, 204)
  await sync.syncOnce()
  t.ok(list.isRevoked(claimsOf(session.accessToken)), 'the logged-out session is revoked on the resource server')
  t.notOk(list.isRevoked(claimsOf(other.accessToken)), 'another session is not')
})

t.test('list() sends the query and the credential, and returns the rows as stored', async (t) => {
  const store = await storeWithAlice()
  const now = Math.floor(Date.now() / 1000)
  for (let i = 1; i <= 5; i++) await store.revocations.append({ kind: 'user', subject: `user-${i}`, version: i, expiresAt: now + 600 }, now)
  const { feedUrl, requested } = await authService(t, store)
  const feed = client(feedUrl)
  t.same(await feed.list({ afterId: 1, beforeId: 4, limit: 10 }), await store.revocations.list({ afterId: 1, beforeId: 4, limit: 10 }))
  t.same((await feed.list({ afterId: 0 })).map((row) => row.id), [1, 2, 3, 4, 5])
  t.same((await feed.list({ afterId: 2, limit: 1 })).map((row) => row.id), [3])
  t.same(requested, ['/auth/revocations?after=1&before=4&limit=10', '/auth/revocations?after=0', '/auth/revocations?after=2&limit=1'])
})

t.test('a wrong credential is a RemoteFetchError naming the 401, not the credential', async (t) => {
  const { feedUrl } = await authService(t)
  const wrong = `${CREDENTIAL.slice(0, -1)}Z`
  const error = await client(feedUrl, { credential: wrong }).list({ afterId: 0 }).then(() => undefined, (error: Error) => error)
  t.type(error, RemoteFetchError)
  t.match(error?.message, /HTTP 401/)
  t.notMatch(error?.message, wrong)
})

t.test('ids and gaps work through HTTP over the knex SQLite store', async (t) => {
  const database = await openDatabase(t, 'sqlite')
  const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
  await store.migrate()
  await storeWithAlice(store)
  const { feedUrl, requested } = await authService(t, store)
  const clock = new TestClock()
  const now = clock.now() / 1000
  for (let i = 1; i <= 3; i++) await store.revocations.append({ kind: 'token', subject: `jti-${i}`, version: 0, expiresAt: now + 600 }, now)
  // Id 2 not visible yet: as an insert that has its id but has not committed.
  const table = `${database.prefix}revocations`
  const late = await database.knex(table).where('id', 2).first()
  await database.knex(table).where('id', 2).delete()
  const { sync, list } = syncOver(client(feedUrl), clock)
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-3' }))
  t.notOk(list.isRevoked({ jti: 'jti-2' }))
  await database.knex(table).insert(late)
  requested.length = 0
  clock.advance(1000)
  await sync.syncOnce()
  t.ok(list.isRevoked({ jti: 'jti-2' }), 'the late row was found by re-reading the gap')
  t.ok(requested.includes('/auth/revocations?after=1&before=3&limit=500'), 'the gap was re-read with before')
})

/** A fake feed server: the handler decides each answer. */
async function fakeServer (t: Test, answer: (reply: FastifyReply, query: Record<string, string>) => unknown): Promise<URL> {
  // Force-closed, so that a hanging handler does not hold up teardown.
  const app = Fastify({ logger: false, forceCloseConnections: true })
  t.teardown(async () => { await app.close() })
  app.get('/feed', async (request, reply) => await answer(reply, request.query as Record<string, string>))
  return new URL('/feed', await app.listen({ host: '127.0.0.1', port: 0 }))
}

const good = (id: number, overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ id, kind: 'session', subject: `sid-${id}`, version: 0, expiresAt: 2_000_000_000, createdAt: 1_000_000_000, ...overrides })

t.test('every malformed answer is a RemoteFetchError, the whole page refused', async (t) => {
  let body: unknown
  const url = await fakeServer(t, async () => body)
  const feed = client(url)
  const cases: Array<[string, unknown, RegExp, { afterId: number, beforeId?: number, limit?: number }?]> = [
    ['an array body', [good(1)], /without a revocations array/],
    ['no revocations', { rows: [good(1)] }, /without a revocations array/],
    ['revocations not an array', { revocations: { 0: good(1) } }, /without a revocations array/],
    ['a null body', null, /without a revocations array/],
    ['more rows than the limit', { revocations: [good(1), good(2), good(3)] }, /3 revocations, more than the limit of 2/, { afterId: 0, limit: 2 }],
    ['a row that is not an object', { revocations: [good(1), 'x'] }, /revocation 1 of the feed is not an object/],
    ['a null row', { revocations: [null] }, /is not an object/],
    ['an array row', { revocations: [[1]] }, /is not an object/],
    ['id 0', { revocations: [good(0)] }, /has no positive integer id/],
    ['a negative id', { revocations: [good(-3)] }, /has no positive integer id/],
    ['a fractional id', { revocations: [good(1.5)] }, /has no positive integer id/],
    ['an id as a string', { revocations: [good(1, { id: '1' })] }, /has no positive integer id/],
    ['an unsafe id', { revocations: [good(2 ** 53)] }, /has no positive integer id/],
    ['ids out of order', { revocations: [good(2), good(1)] }, /revocation 1 of the feed has id 1, not above 2/],
    ['a repeated id', { revocations: [good(2), good(2)] }, /has id 2, not above 2/],
    ['an id not above afterId', { revocations: [good(5)] }, /has id 5, not above 5/, { afterId: 5 }],
    ['an id not below beforeId', { revocations: [good(6), good(8)] }, /revocation 1 of the feed has id 8, not below 8/, { afterId: 5, beforeId: 8 }],
    ['an unknown kind', { revocations: [good(1, { kind: 'group' })] }, /has an unknown kind/],
    ['no kind', { revocations: [good(1, { kind: undefined })] }, /has an unknown kind/],
    ['an empty subject', { revocations: [good(1, { subject: '' })] }, /has no subject of 1 to 1024 characters/],
    ['a subject too long', { revocations: [good(1, { subject: 'x'.repeat(1025) })] }, /has no subject/],
    ['a numeric subject', { revocations: [good(1, { subject: 7 })] }, /has no subject/],
    ['a negative version', { revocations: [good(1, { version: -1 })] }, /has no non-negative integer version/],
    ['a fractional version', { revocations: [good(1, { version: 0.5 })] }, /has no non-negative integer version/],
    ['a version as a string', { revocations: [good(1, { version: '0' })] }, /has no non-negative integer version/],
    ['no expiresAt', { revocations: [good(1, { expiresAt: null })] }, /has no numeric expiresAt/],
    ['expiresAt as a string', { revocations: [good(1, { expiresAt: '2000000000' })] }, /has no numeric expiresAt/],
    ['no createdAt', { revocations: [good(1, { createdAt: undefined })] }, /has no numeric createdAt/],
    ['createdAt as a string', { revocations: [good(1, { createdAt: 'now' })] }, /has no numeric createdAt/]
  ]
  for (const [what, answer, message, query = { afterId: 0 }] of cases) {
    body = answer
    const error = await feed.list(query).then(() => undefined, (error: Error) => error)
    t.type(error, RemoteFetchError, what)
    t.match(error?.message, message, what)
  }
  body = { revocations: [good(1), good(2, { kind: 'user', version: 3, subject: 'x'.repeat(1024) }), good(3, { kind: 'token', expiresAt: 1.5 })], extra: true }
  const rows = await feed.list({ afterId: 0, beforeId: 4, limit: 3 })
  t.same(rows.map((row) => row.id), [1, 2, 3], 'a well-formed page at the limit passes')
  t.same(rows[0], good(1), 'rows carry exactly the stored fields')
  t.same(Object.keys(rows[2]), ['id', 'kind', 'subject', 'version', 'expiresAt', 'createdAt'])
})

t.test('an answer over maxBytes is a RemoteFetchError', async (t) => {
  const url = await fakeServer(t, async () => ({ revocations: Array.from({ length: 100 }, (_, i) => good(i + 1)) }))
  await t.rejects(client(url, { maxBytes: 1000 }).list({ afterId: 0 }), RemoteFetchError)
  t.equal((await client(url).list({ afterId: 0 })).length, 100, 'the same answer fits a larger limit')
})

t.test('an endless answer without a Content-Length is cut off at maxBytes', async (t) => {
  const url = await fakeServer(t, async (reply) => {
    const endless = new Readable({ read () { this.push('{"revocations":['.padEnd(512, ' ')) } })
    t.teardown(() => { endless.destroy() })
    return await reply.type('application/json').send(endless)
  })
  await t.rejects(client(url, { maxBytes: 4096 }).list({ afterId: 0 }), { name: 'RemoteFetchError', message: /longer than the limit of 4096 bytes/ })
})

t.test('a feed that never answers is a RemoteFetchError after timeoutMs', async (t) => {
  const url = await fakeServer(t, async () => await new Promise(() => {}))
  await t.rejects(client(url, { timeoutMs: 200 }).list({ afterId: 0 }), { name: 'RemoteFetchError', message: /no answer within 200 ms/ })
})

t.test('an aborted signal stops the request', async (t) => {
  const url = await fakeServer(t, async () => await new Promise(() => {}))
  const controller = new AbortController()
  const pending = client(url, { signal: controller.signal }).list({ afterId: 0 })
  setTimeout(() => { controller.abort() }, 20)
  await t.rejects(pending, RemoteFetchError)
})

t.test('a sync over a feed gone bad reports unhealthy and stops being fresh after maxStaleness', async (t) => {
  let mode: 'good' | 'malformed' | 'unauthorized' | 'hanging' = 'good'
  const url = await fakeServer(t, async (reply, query) => {
    const after = Number(query.after)
    // The one row is id 1: a well-behaved feed answers it only to a query below it.
    if (mode === 'good') return { revocations: after < 1 ? [good(1)] : [] }
    if (mode === 'malformed') return { revocations: [good(after + 1, { kind: 'everything' })] }
    if (mode === 'unauthorized') return await reply.code(401).send({ code: 'FST_TOKEN_AUTH_INVALID_TOKEN' })
    return await new Promise(() => {})
  })
  const clock = new TestClock()
  const statuses: Array<[boolean, unknown]> = []
  const { sync, list } = syncOver(client(url, { timeoutMs: 200, clock }), clock, statuses)
  await sync.syncOnce()
  t.ok(sync.isFresh())
  t.ok(list.isRevoked({ sid: 'sid-1' }))
  for (const failing of ['malformed', 'unauthorized', 'hanging'] as const) {
    mode = failing
    clock.advance(MAX_STALENESS_MS / 4)
    await sync.syncOnce()
  }
  t.equal(statuses.length, 1, 'one change of status for the failures in a row')
  t.equal(statuses[0][0], false)
  t.type(statuses[0][1], RemoteFetchError)
  t.match((statuses[0][1] as Error).message, /unknown kind/)
  t.ok(sync.isFresh(), 'still within maxStaleness of the last good sync')
  clock.advance(MAX_STALENESS_MS / 4 + 1)
  t.notOk(sync.isFresh(), 'past maxStaleness: verification fails closed')
  t.ok(list.isRevoked({ sid: 'sid-1' }), 'what was known is kept')
  mode = 'good'
  await sync.syncOnce()
  t.ok(sync.isFresh())
  t.same(statuses.map(([healthy]) => healthy), [false, true], 'recovery is reported')
})

t.test('a row the feed answers twice in one page is refused before the sync applies any of it', async (t) => {
  const url = await fakeServer(t, async () => ({ revocations: [good(1, { subject: 'sid-first' }), good(1, { subject: 'sid-again' })] }))
  const clock = new TestClock()
  const { sync, list } = syncOver(client(url, { clock }), clock)
  await sync.syncOnce()
  t.notOk(list.isRevoked({ sid: 'sid-first' }))
  t.notOk(sync.isFresh())
})
