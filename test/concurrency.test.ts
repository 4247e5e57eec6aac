import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createKnexStore } from 'fastify-token-auth/knex'
import { UsernameTakenError } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './helpers/app.js'
import { databaseTargets, openDatabase, type TestDatabase } from './helpers/databases.js'
import { TestClock } from './helpers/clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { bearer } from './helpers/forge.js'

// Many requests racing for one row: exactly one winner, no lost update, no surviving
// session, on each database (PostgreSQL's READ COMMITTED behaves unlike SQLite).

const TRIALS = 50

for (const target of databaseTargets()) {
  t.test(`races on ${target.name}`, { skip: target.skip }, async (t) => {
    // Shared by the instances of one test: both see the same time, and it moves only when told.
    let clock = new TestClock()

    async function instance (t: Test, database: TestDatabase, hasher = new FastTestHasher()): Promise<FastifyInstance> {
      // In-flight bounds out of the way too: the store's reservation alone must hold the limit.
      const login = { maxInFlightPerAccount: 1000, maxInFlightPerAddress: 1000 }
      // Each instance has a pool of its own, as separate processes would.
      const store = createKnexStore({ knex: database.connect(), tablePrefix: database.prefix })
      await store.migrate()
      // Rate limits out of the way: these tests race refreshes, they do not count them.
      const session = { perSessionPerMinute: 100_000, perAddressPerMinute: 1_000_000 }
      return await buildApp(t, { auth: { store, clock, session, login, passwords: { hasher }, throttle: { maxAccountFailures: 5, maxAddressFailures: 1000 } }, routes: {} })
    }

    async function setup (t: Test, hasher?: FastTestHasher): Promise<{ app: FastifyInstance, database: TestDatabase, count: (table: string) => Promise<number> }> {
      clock = new TestClock()
      const database = await openDatabase(t, target.name)
      const app = await instance(t, database, hasher)
      await app.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
      const count = async (table: string): Promise<number> => Number((await database.knex(`${database.prefix}${table}`).count({ n: '*' }))[0].n)
      return { app, database, count }
    }

    const loginBody = { username: 'alice', password: PASSWORD, include_refresh_token: true }
    const refresh = async (app: FastifyInstance, token: string): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> =>
      await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } })

    /** A client refreshing as fast as it can until refused; resolves with the last token it holds. */
    async function refreshUntilRefused (app: FastifyInstance, token: string): Promise<string> {
      for (;;) {
        const res = await refresh(app, token)
        if (res.statusCode !== 200) return token
        token = res.json().refresh_token
      }
    }

    t.test('50 parallel refreshes of one refresh token: exactly one succeeds, and its family lives on', async (t) => {
      const { app, count } = await setup(t)
      const login = await app.inject({ method: 'POST', url: '/auth/login', payload: loginBody })
      const results = await Promise.all(Array.from({ length: 50 }, async () => await refresh(app, login.json().refresh_token)))
      t.equal(results.filter((res) => res.statusCode === 200).length, 1)
      t.equal(results.filter((res) => res.statusCode === 401).length, 49)
      t.equal(await count('refresh_tokens'), 2, 'the spent token and exactly one successor')
      const winner = results.find((res) => res.statusCode === 200)
      t.equal((await refresh(app, winner?.json().refresh_token)).statusCode, 200, 'the family is intact for the winner')
    })

    t.test('50 parallel createUser calls with one username: exactly one row', async (t) => {
      const { app, count } = await setup(t)
      const results = await Promise.allSettled(Array.from({ length: 50 }, async (_, i) => await app.tokenAuth.accounts.createUser({ username: 'Carol', password: `${PASSWORD} ${i}` })))
      t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
      t.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof UsernameTakenError), 'every loser is told the name is taken')
      t.equal(await count('users'), 2, 'alice and one carol')
    })

    t.test('200 concurrent guesses from two instances: at most the limit reach the password check, and the right password after them gets 429', async (t) => {
      const hasher = new FastTestHasher()
      const { app, database } = await setup(t, hasher)
      const other = await instance(t, database, hasher)
      hasher.verifications = 0
      const guesses = await Promise.all(Array.from({ length: 200 }, async (_, i) =>
        await (i % 2 === 0 ? app : other).inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: `wrong guess ${i}` } })))
      t.ok(guesses.every((res) => res.statusCode === 401 || res.statusCode === 429), 'only 401 and 429')
      t.equal(hasher.verifications, 5, 'exactly the limit reached the password check, across both instances')
      const right = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })
      t.equal(right.statusCode, 429)
      t.equal(right.json().code, 'FST_TOKEN_AUTH_LOGIN_THROTTLED')
      t.match(right.headers['retry-after'], /^\d+$/)
    })

    t.test(`a client refreshing in a loop while another instance logs it out: no chain survives (${TRIALS} trials)`, async (t) => {
      const { app, database } = await setup(t)
      const other = await instance(t, database)
      let survivors = 0
      for (let trial = 0; trial < TRIALS; trial++) {
        const login = await app.inject({ method: 'POST', url: '/auth/login', payload: loginBody, remoteAddress: `10.0.${trial}.1` })
        const chain = refreshUntilRefused(app, login.json().refresh_token)
        await new Promise((resolve) => setImmediate(resolve))
        const logout = await other.inject({ method: 'POST', url: '/auth/logout', headers: bearer(login.json().access_token), remoteAddress: `10.1.${trial}.1` })
        t.equal(logout.statusCode, 204)
        if ((await refresh(other, await chain)).statusCode === 200) survivors++
      }
      t.equal(survivors, 0, 'zero surviving chains')
    })

    t.test(`a thief refreshing in a loop while the victim replays a spent token: no chain survives reuse detection (${TRIALS} trials)`, async (t) => {
      const { app, database } = await setup(t)
      const other = await instance(t, database)
      let survivors = 0
      for (let trial = 0; trial < TRIALS; trial++) {
        const login = await app.inject({ method: 'POST', url: '/auth/login', payload: loginBody, remoteAddress: `10.2.${trial}.1` })
        const spent: string = login.json().refresh_token
        const first = await refresh(app, spent)
        // Past the grace window, so that the replay below is theft, not a concurrent refresh.
        clock.advance(10_000)
        const chain = refreshUntilRefused(app, first.json().refresh_token)
        await new Promise((resolve) => setImmediate(resolve))
        // The replay is theft: the whole family must end, whatever the thief does meanwhile.
        const replay = await other.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: spent }, remoteAddress: `10.3.${trial}.1` })
        t.equal(replay.statusCode, 401)
        if ((await refresh(other, await chain)).statusCode === 200) survivors++
      }
      t.equal(survivors, 0, 'zero surviving chains')
    })
  })
}
