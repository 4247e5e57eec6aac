import t from 'tap'
import { createMemoryUserStore, type PruneResult, type UserStore } from 'fastify-token-auth'
import { Housekeeping } from '../lib/sessions/housekeeping.js'
import { buildApp } from './helpers/app.js'

// Expired rows go away on their own: no cron job for users to write.

const now = (): number => Math.floor(Date.now() / 1000)

t.test('the plugin prunes expired refresh tokens, revocations and idle failure counters on a timer', async (t) => {
  const store = createMemoryUserStore({ bcryptCost: 10 })
  await store.insertRefreshToken({ tokenHash: '1'.repeat(64), userId: 'u', familyId: 'f', tokenVersion: 0, issuedAt: now() - 100, expiresAt: now() - 10, sessionExpiresAt: now() })
  await store.addRevocation({ kind: 'token', subject: 'j', version: 0, expiresAt: now() - 10 })
  await store.recordLoginFailure(['account:x'], now() - 2 * 86400, 900)
  await buildApp(t, { auth: { userStore: store, revocation: { pruneInterval: 1 } } })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(await store.findRefreshToken('1'.repeat(64)), undefined)
  t.same(await store.listRevocations({ afterId: 0 }), [])
  t.same(await store.loginFailures(['account:x']), [])
})

t.test('a failing prune in the plugin is logged as a warning and does not stop the app', async (t) => {
  const store = createMemoryUserStore({ bcryptCost: 10 })
  store.pruneExpired = async () => { throw new Error('database is down') }
  const warnings: string[] = []
  const { Writable } = await import('node:stream')
  const stream = new Writable({ write (chunk, _encoding, done) { const line = JSON.parse(String(chunk)); if (line.level === 40) warnings.push(line.msg); done() } })
  const app = await buildApp(t, { auth: { userStore: store, revocation: { pruneInterval: 1 } }, fastify: { logger: { level: 'warn', stream } } })
  await new Promise((resolve) => setTimeout(resolve, 1400))
  t.match(warnings, ['pruning expired auth rows failed; will retry'])
  t.equal((await app.inject({ url: '/me' })).statusCode, 401, 'still serving')
})

t.test('a failed prune is reported and retried, and stop waits for a prune in progress', async (t) => {
  let calls = 0
  const errors: unknown[] = []
  const pruned: PruneResult[] = []
  const store = {
    async pruneExpired () {
      calls++
      if (calls === 1) throw new Error('database is down')
      await new Promise((resolve) => setTimeout(resolve, 30))
      return { refreshTokens: 1, revocations: 0, loginFailures: 0 }
    }
  } as unknown as UserStore
  const housekeeping = new Housekeeping({ store, intervalMs: 20, onPruned: (result) => { pruned.push(result) }, onError: (error) => { errors.push(error) } })
  housekeeping.start()
  await new Promise((resolve) => setTimeout(resolve, 60))
  await housekeeping.stop()
  const settled = calls
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.match(errors, [{ message: 'database is down' }])
  t.ok(pruned.length >= 1, 'it went on after the failure')
  t.equal(calls, settled, 'nothing after stop')
  housekeeping.start()
  t.equal(calls, settled, 'a stopped housekeeper does not start again')
})
