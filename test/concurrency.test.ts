import t, { type Test } from 'tap'
import { createKnexUserStore, UsernameTakenError } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './helpers/app.js'
import { databaseTargets, openDatabase } from './helpers/databases.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'

// Many requests racing for one row: exactly one winner, and no lost update, on each database.

for (const target of databaseTargets()) {
  t.test(`races on ${target.name}`, { skip: target.skip }, async (t) => {
    async function setup (t: Test): Promise<{ app: Awaited<ReturnType<typeof buildApp>>, store: ReturnType<typeof createKnexUserStore>, count: (table: string) => Promise<number> }> {
      const database = await openDatabase(t, target.name)
      const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix, passwordHasher: new FastTestHasher() })
      await store.migrate()
      const app = await buildApp(t, { auth: { userStore: store }, routes: { throttle: { maxAccountFailures: 1000, maxAddressFailures: 1000 } } })
      const count = async (table: string): Promise<number> => Number((await database.knex(`${database.prefix}${table}`).count({ n: '*' }))[0].n)
      return { app, store, count }
    }

    t.test('50 parallel refreshes of one refresh token: exactly one succeeds, and its family lives on', async (t) => {
      const { app, store, count } = await setup(t)
      await store.createUser({ username: 'alice', password: PASSWORD })
      const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD, include_refresh_token: true } })
      const refreshToken = login.json().refresh_token
      const results = await Promise.all(Array.from({ length: 50 }, async () => await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } })))
      t.equal(results.filter((res) => res.statusCode === 200).length, 1)
      t.equal(results.filter((res) => res.statusCode === 401).length, 49)
      t.equal(await count('refresh_tokens'), 2, 'the spent token and exactly one successor')
      const winner = results.find((res) => res.statusCode === 200)
      const next = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: winner?.json().refresh_token } })
      t.equal(next.statusCode, 200, 'the family is intact for the winner')
    })

    t.test('50 parallel createUser calls with one username: exactly one row', async (t) => {
      const { store, count } = await setup(t)
      const results = await Promise.allSettled(Array.from({ length: 50 }, async (_, i) => await store.createUser({ username: 'Carol', password: `${PASSWORD} ${i}` })))
      t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
      t.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof UsernameTakenError), 'every loser is told the name is taken')
      t.equal(await count('users'), 1)
    })

    t.test('100 parallel failed logins: the failure counters read 100, not less', async (t) => {
      const { app, store } = await setup(t)
      await store.createUser({ username: 'alice', password: PASSWORD })
      const results = await Promise.all(Array.from({ length: 100 }, async () => await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'wrong password' } })))
      t.ok(results.every((res) => res.statusCode === 401))
      const counts = Object.fromEntries((await store.loginFailures(['account:alice', 'address:127.0.0.1'])).map((count) => [count.key, count.failures]))
      t.same(counts, { 'account:alice': 100, 'address:127.0.0.1': 100 })
    })
  })
}
