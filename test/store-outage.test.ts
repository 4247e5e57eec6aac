import Fastify, { type FastifyInstance } from 'fastify'
import knex, { type Knex } from 'knex'
import t, { type Test } from 'tap'
import tokenAuth, { loginRoutes } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { PASSWORD, SECRET } from './helpers/app.js'
import { databaseTargets, knexConfig, openDatabase, serverUrl, type DatabaseName } from './helpers/databases.js'
import { bearer } from './helpers/forge.js'
import { login } from './helpers/session.js'
import { TcpProxy, throughProxy } from './helpers/tcp-proxy.js'

// The database goes away mid-run: answers are 503 with Retry-After, verification keeps
// working within the staleness bound and fails closed beyond it, and all recovers.

interface Outage { begin: () => Promise<void>, end: () => Promise<void> }

/** A knex pool whose database can be taken away: a closed TCP port, or a destroyed SQLite pool. */
async function breakableKnex (t: Test, name: DatabaseName, sqliteKnex: Knex): Promise<{ knex: Knex, outage: Outage }> {
  if (name === 'sqlite') {
    return { knex: sqliteKnex, outage: { begin: async () => { await sqliteKnex.destroy() }, end: async () => { sqliteKnex.initialize() } } }
  }
  const server = new URL(serverUrl(name))
  const proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port) })
  const url = new URL(throughProxy(serverUrl(name), proxy))
  // Named, so that the test that kills connections from the server side finds only these.
  if (name === 'postgres') url.searchParams.set('application_name', 'fta-outage-test')
  const pool = knex(knexConfig(name, url.toString()))
  t.teardown(async () => { await pool.destroy(); await proxy.cut() })
  return { knex: pool, outage: { begin: async () => { await proxy.cut() }, end: async () => { await proxy.restore() } } }
}

async function setup (t: Test, name: DatabaseName): Promise<{ app: FastifyInstance, outage: Outage }> {
  const database = await openDatabase(t, name)
  const { knex: pool, outage } = await breakableKnex(t, name, database.connect())
  const store = createKnexStore({ knex: pool, tablePrefix: database.prefix })
  await store.migrate()
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET, store, passwords: { bcryptCost: 10 } })
  await app.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  await app.register(loginRoutes, { prefix: '/auth' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  return { app, outage }
}

const wait = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function assertUnavailable (t: Test, res: Awaited<ReturnType<FastifyInstance['inject']>>, code: string): void {
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, code)
  t.ok(Number(res.headers['retry-after']) >= 1, 'Retry-After')
  t.equal(res.headers['www-authenticate'], undefined)
}

for (const target of databaseTargets()) {
  t.test(`the ${target.name} database goes away and comes back`, { skip: target.skip }, async (t) => {
    const { app, outage } = await setup(t, target.name)
    const accounts = app.tokenAuth.accounts
    const session = await login(app, { include_refresh_token: true })
    await outage.begin()

    await t.rejects(accounts.createUser({ username: 'bob', password: PASSWORD }), { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503 })

    assertUnavailable(t, await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } }), 'FST_TOKEN_AUTH_STORE_UNAVAILABLE')
    assertUnavailable(t, await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken } }), 'FST_TOKEN_AUTH_STORE_UNAVAILABLE')
    assertUnavailable(t, await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) }), 'FST_TOKEN_AUTH_STORE_UNAVAILABLE')
    const within = await app.inject({ url: '/me', headers: bearer(session.accessToken) })
    t.ok(within.statusCode === 200 || within.statusCode === 503, 'within the bound a valid token may still pass (stateless), never anything else')

    await wait(1300)
    assertUnavailable(t, await app.inject({ url: '/me', headers: bearer(session.accessToken) }), 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE')

    await outage.end()
    let recovered = false
    for (let i = 0; i < 40 && !recovered; i++) {
      await wait(250)
      recovered = (await app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode === 200
    }
    t.ok(recovered, 'verification works again once the database is back')
    const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refreshToken } })
    t.equal(refreshed.statusCode, 200, 'the refresh token refused during the outage was not spent')
    t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })).statusCode, 200)
    t.equal(await accounts.findUserByUsername('bob'), undefined, 'the user refused during the outage was not half-written')
  })
}

t.test('PostgreSQL kills the pool\'s connections: answers are 200 or 503, never 500, and the pool recovers', { skip: databaseTargets()[1].skip }, async (t) => {
  const { app } = await setup(t, 'postgres')
  const session = await login(app, { include_refresh_token: true })
  const admin = knex(knexConfig('postgres', serverUrl('postgres')))
  t.teardown(async () => { await admin.destroy() })
  const killed = await admin.raw("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and application_name = 'fta-outage-test'")
  t.ok(killed.rows.length > 0, `${killed.rows.length} connections killed`)
  const statuses: number[] = []
  let refresh = session.refreshToken
  for (let i = 0; i < 10; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refresh } })
    statuses.push(res.statusCode)
    if (res.statusCode === 200) refresh = res.json().refresh_token
    await wait(100)
  }
  t.ok(statuses.every((status) => status === 200 || status === 503), `statuses: ${statuses.join(' ')}`)
  t.equal(statuses.at(-1), 200, 'working again')
  t.equal((await app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200)
})
