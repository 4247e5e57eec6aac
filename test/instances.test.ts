import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { loginRoutes } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { PASSWORD, SECRET } from './helpers/app.js'
import { databaseTargets, openDatabase, type DatabaseName } from './helpers/databases.js'
import { bearer } from './helpers/forge.js'
import { login } from './helpers/session.js'

// Two application instances with their own knex pools on one database behave as one service.

const MAX_STALENESS_MS = 1000
// Past this, every instance has synced the revocation (the staleness bound plus one poll).
const PROPAGATION_WAIT_MS = MAX_STALENESS_MS + 300
const REUSE_GRACE_SECONDS = 1

async function instance (t: Test, knex: ReturnType<Awaited<ReturnType<typeof openDatabase>>['connect']>, prefix: string): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  const store = createKnexStore({ knex, tablePrefix: prefix })
  await store.migrate()
  await app.register(tokenAuth, { secret: SECRET, store, passwords: { bcryptCost: 10 }, revocation: { maxStaleness: MAX_STALENESS_MS / 1000 }, session: { reuseGrace: REUSE_GRACE_SECONDS } })
  await app.register(loginRoutes, { prefix: '/auth' })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  return app
}

async function twoInstances (t: Test, name: DatabaseName): Promise<[FastifyInstance, FastifyInstance]> {
  const database = await openDatabase(t, name)
  const a = await instance(t, database.knex, database.prefix)
  const b = await instance(t, database.connect(), database.prefix)
  await a.tokenAuth.accounts.createUser({ username: 'alice', password: PASSWORD })
  return [a, b]
}

const wait = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const refresh = async (app: FastifyInstance, token: string): Promise<Awaited<ReturnType<FastifyInstance['inject']>>> =>
  await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token } })

for (const target of databaseTargets()) {
  t.test(`two instances on one ${target.name} database`, { skip: target.skip }, async (t) => {
    t.test('login on A, use on B', async (t) => {
      const [a, b] = await twoInstances(t, target.name)
      const session = await login(a)
      const res = await b.inject({ url: '/me', headers: bearer(session.accessToken) })
      t.equal(res.statusCode, 200)
    })

    t.test('logout on B is rejected on A within the staleness bound', async (t) => {
      const [a, b] = await twoInstances(t, target.name)
      const session = await login(a)
      t.equal((await a.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200, 'valid, and cached on A')
      t.equal((await b.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })).statusCode, 204)
      t.equal((await b.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 401, 'at once on B')
      await wait(PROPAGATION_WAIT_MS)
      const res = await a.inject({ url: '/me', headers: bearer(session.accessToken) })
      t.equal(res.statusCode, 401)
      t.equal(res.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
      t.match(res.headers['www-authenticate'], /error="invalid_token"/)
    })

    t.test('log out everywhere on A reaches B', async (t) => {
      const [a, b] = await twoInstances(t, target.name)
      const session = await login(b, { include_refresh_token: true })
      t.equal((await a.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(session.accessToken) })).statusCode, 204)
      await wait(PROPAGATION_WAIT_MS)
      t.equal((await b.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 401)
      t.equal((await refresh(b, session.refreshToken)).statusCode, 401)
    })

    t.test('refresh-token reuse on B is detected for a family rotated on A', async (t) => {
      const [a, b] = await twoInstances(t, target.name)
      const session = await login(a, { include_refresh_token: true })
      const rotated = await refresh(a, session.refreshToken)
      t.equal(rotated.statusCode, 200)
      await wait(REUSE_GRACE_SECONDS * 1000 + 1100) // past the reuse grace window (times are whole seconds)
      const reuse = await refresh(b, session.refreshToken)
      t.equal(reuse.statusCode, 401)
      t.match(reuse.json().message, /session was revoked/)
      t.equal((await refresh(a, rotated.json().refresh_token)).statusCode, 401, 'the thief and the victim both lose the family')
      t.equal((await b.inject({ url: '/me', headers: bearer(rotated.json().access_token) })).statusCode, 401, 'at once on B')
      await wait(PROPAGATION_WAIT_MS)
      t.equal((await a.inject({ url: '/me', headers: bearer(rotated.json().access_token) })).statusCode, 401, 'and on A within the bound')
    })

    t.test('20 concurrent refreshes of one token across both instances: exactly one success', async (t) => {
      const [a, b] = await twoInstances(t, target.name)
      const session = await login(a, { include_refresh_token: true })
      const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await refresh(i % 2 === 0 ? a : b, session.refreshToken)))
      t.equal(results.filter((res) => res.statusCode === 200).length, 1)
      t.equal(results.filter((res) => res.statusCode === 401).length, 19)
      const winner = results.find((res) => res.statusCode === 200)
      t.equal((await refresh(b, winner?.json().refresh_token)).statusCode, 200, 'the winner\'s family is intact')
    })
  })
}
