// A login server for the login benchmark: tokenAuth + loginRoutes on a knex SQLite store,
// bcrypt at the given cost, plus /healthz and an event-loop-delay probe. Prints `listening <port>`.
import Fastify from 'fastify'
import tokenAuth, { createMemoryStore, loginRoutes } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import knex from 'knex'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const [cost, secret, password] = process.argv.slice(2)
const folder = await mkdtemp(join(tmpdir(), 'fta-bench-'))
const db = knex({ client: 'sqlite3', connection: { filename: join(folder, 'auth.sqlite') }, useNullAsDefault: true })
const store = process.env.BENCH_STORE === 'memory' ? createMemoryStore() : createKnexStore({ knex: db })
await store.migrate()

const app = Fastify({ logger: false })
// The burst is 8 clients logging one user in from one address, all with the right password:
// the limits are raised for it (8 reservations in flight at once would otherwise reach the
// account's limit of 5 and lock it). Every login still reserves its attempt in the store
// and takes it back on success: that is the cost measured here.
await app.register(tokenAuth, {
  secret,
  store,
  passwords: { bcryptCost: Number(cost) },
  throttle: { maxAccountFailures: 1_000_000, maxAddressFailures: 1_000_000 },
  login: { maxInFlightPerAccount: 1000, maxInFlightPerAddress: 1000 }
})
await app.register(loginRoutes, { prefix: '/auth' })
await app.tokenAuth.accounts.createUser({ username: 'alice', password })
app.get('/healthz', async () => ({ status: 'ok' }))

const loopDelay = monitorEventLoopDelay({ resolution: 5 })
loopDelay.enable()
app.post('/__loop/reset', async () => { loopDelay.reset(); return {} })
app.get('/__loop', async () => ({ p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 }))

await app.listen({ host: '127.0.0.1', port: 0 })
console.log(`listening ${app.server.address().port}`)
process.on('SIGTERM', () => {
  app.close().then(() => db.destroy()).then(() => rm(folder, { recursive: true, force: true })).then(() => process.exit(0))
})
