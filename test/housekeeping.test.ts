import t from 'tap'
import { createMemoryStore, type AuthStore, type PruneResult } from 'fastify-token-auth'
import { Housekeeping } from '../lib/sessions/housekeeping.js'
import { buildApp } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'

// Expired rows go away on their own: no cron job for users to write.

t.test('the plugin prunes expired families and tokens, revocations, account tokens, challenges and idle attempt counters on a timer', async (t) => {
  const clock = new TestClock()
  const now = Math.floor(clock.now() / 1000)
  const store = createMemoryStore()
  await store.families.create({ id: 'f', userId: 'u', tokenVersion: 0, createdAt: now - 100, expiresAt: now - 10, clientAddress: null, userAgent: null, authMethods: ['pwd'] }, { hash: '1'.repeat(64), expiresAt: now - 10 })
  await store.families.create({ id: 'live', userId: 'u', tokenVersion: 0, createdAt: now, expiresAt: now + 600, clientAddress: null, userAgent: null, authMethods: ['pwd'] }, { hash: '2'.repeat(64), expiresAt: now + 600 })
  await store.revocations.append({ kind: 'token', subject: 'j', version: 0, expiresAt: now - 10 }, now - 100)
  await store.attempts.update(['account:x'], () => ({ write: [{ key: 'account:x', count: 1, windowStartedAt: now - 2 * 86400, lockedUntil: 0, lastAttemptAt: now - 2 * 86400 }], result: undefined }))
  const accountToken = { purpose: 'password_reset', userId: 'u', email: 'u@example.com', binding: 'b', createdAt: now - 100 } as const
  await store.accountTokens.insert({ ...accountToken, hash: '3'.repeat(64), expiresAt: now - 10 })
  await store.accountTokens.insert({ ...accountToken, hash: '4'.repeat(64), expiresAt: now + 600 })
  const challenge = { purpose: 'mfa_login', userId: 'u', binding: 'address', createdAt: now - 100 } as const
  await store.challenges.insert({ ...challenge, hash: '5'.repeat(64), expiresAt: now - 10 })
  await store.challenges.insert({ ...challenge, hash: '6'.repeat(64), expiresAt: now + 600 })
  await buildApp(t, { auth: { store, clock, revocation: { pruneInterval: 1 } } })
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal(await store.challenges.find('5'.repeat(64), 'mfa_login', now - 20), undefined, 'an expired challenge is gone, not only expired')
  t.ok(await store.challenges.find('6'.repeat(64), 'mfa_login', now), 'a live challenge stays')
  t.equal(await store.accountTokens.find('3'.repeat(64), 'password_reset', now - 20), undefined, 'gone, not only expired')
  t.ok(await store.accountTokens.find('4'.repeat(64), 'password_reset', now), 'a live account token stays')
  t.equal(await store.families.findByToken('1'.repeat(64)), undefined)
  t.ok(await store.families.findByToken('2'.repeat(64)), 'a live session stays')
  t.same(await store.revocations.list({ afterId: 0 }), [])
  t.same(await store.attempts.update(['account:x'], (current) => ({ write: [], result: [...current.keys()] })), [])
})

t.test('a failing prune in the plugin is logged as a warning and does not stop the app', async (t) => {
  const store = createMemoryStore()
  store.families.prune = async () => { throw new Error('database is down') }
  const warnings: string[] = []
  const { Writable } = await import('node:stream')
  const stream = new Writable({ write (chunk, _encoding, done) { const line = JSON.parse(String(chunk)); if (line.level === 40) warnings.push(line.msg); done() } })
  const app = await buildApp(t, { auth: { store, revocation: { pruneInterval: 1 } }, fastify: { logger: { level: 'warn', stream } } })
  await new Promise((resolve) => setTimeout(resolve, 1400))
  t.match(warnings, ['pruning expired auth rows failed; will retry'])
  t.equal((await app.inject({ url: '/me' })).statusCode, 401, 'still serving')
})

t.test('a failed prune is reported and retried, and stop waits for a prune in progress', async (t) => {
  let calls = 0
  const errors: unknown[] = []
  const pruned: PruneResult[] = []
  const store = createMemoryStore() as AuthStore
  store.families.prune = async () => {
    calls++
    if (calls === 1) throw new Error('database is down')
    await new Promise((resolve) => setTimeout(resolve, 30))
    return 1
  }
  const housekeeping = new Housekeeping({ store, clock: new TestClock(), intervalMs: 20, onPruned: (result) => { pruned.push(result) }, onError: (error) => { errors.push(error) } })
  housekeeping.start()
  await new Promise((resolve) => setTimeout(resolve, 60))
  await housekeeping.stop()
  const settled = calls
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.match(errors, [{ message: 'database is down' }])
  t.match(pruned[0], { families: 1, revocations: 0, attempts: 0, challenges: 0 }, 'it went on after the failure')
  t.equal(calls, settled, 'nothing after stop')
  housekeeping.start()
  t.equal(calls, settled, 'a stopped housekeeper does not start again')
})
