import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { createAuthCore, createMemoryStore, type AuthCore, type CoreLogger } from 'fastify-token-auth'
import { PASSWORD, SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'

// The core without Fastify: one composition root, one clock.

function recordingLogger (): { log: CoreLogger, lines: string[] } {
  const lines: string[] = []
  const record = (level: string) => (first: unknown, second?: string): void => { lines.push(`${level}: ${typeof first === 'string' ? first : String(second)}`) }
  return { log: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }, lines }
}

/** The core's own access tokens: every core in this file has a secret. */
function ownTokens<C extends AuthCore> (core: C): NonNullable<C['tokens']> {
  if (core.tokens === undefined) throw new Error('this core has no keys')
  return core.tokens as NonNullable<C['tokens']>
}

t.test('a core without a store signs and verifies, and refuses the stateful operations with a TypeError', async (t) => {
  const core = createAuthCore({ secret: SECRET })
  await core.start()
  t.equal(core.stateful, undefined)
  const { token } = ownTokens(core).sign({ sub: 'u1' })
  t.equal(ownTokens(core).verify(token).sub, 'u1')
  await t.rejects(core.changePassword({ userId: 'u1', currentPassword: 'a', newPassword: 'b', clientAddress: '127.0.0.1' }), { name: 'TypeError', message: /need a `store`/ })
  await core.stop()
})

t.test('the core logs in, starts a session and changes a password on its own, with time from its clock', async (t) => {
  const clock = new TestClock(1_800_000_000_000)
  const hasher = new FastTestHasher()
  const core = createAuthCore({ secret: SECRET, store: createMemoryStore(), passwords: { hasher } }, { clock })
  t.teardown(async () => { await core.stop() })
  await core.start()
  const stateful = core.stateful as NonNullable<typeof core.stateful>
  await stateful.accounts.createUser({ username: 'alice', password: PASSWORD })
  const { user, deviceToken } = await stateful.login.login({ username: 'Alice', password: PASSWORD, clientAddress: '203.0.113.7' })
  t.match(deviceToken, /^[\w-]+\.[\w-]+$/)
  const session = await stateful.sessions.start(user)
  const claims = ownTokens(core).verify(session.accessToken)
  t.equal(claims.iat, 1_800_000_000, 'issued at the clock\'s time')
  t.equal(claims.sid, session.sessionId)
  const changed = await core.changePassword({ userId: user.id, currentPassword: PASSWORD, newPassword: 'another good password', clientAddress: '203.0.113.7', deviceToken })
  t.equal(changed.user.tokenVersion, 1)
  t.throws(() => ownTokens(core).verify(session.accessToken), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' }, 'the earlier session ended on this instance at once')
  t.equal(ownTokens(core).verify(changed.accessToken).ver, 1)
  await t.rejects(core.changePassword({ userId: 'nobody', currentPassword: PASSWORD, newPassword: 'x'.repeat(10), clientAddress: '203.0.113.7' }), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' }, 'a deleted user\'s token cannot change a password')
  await t.rejects(core.changePassword({ userId: user.id, currentPassword: 'wrong password', newPassword: 'x'.repeat(10), clientAddress: '203.0.113.7' }), { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS' })
})

t.test('a verify-only ring with a store still throttles logins (with device tokens of its own)', async (t) => {
  const { publicKey } = generateKeyPairSync('ed25519')
  const core = createAuthCore({ keys: [{ publicKey }], store: createMemoryStore(), passwords: { hasher: new FastTestHasher() } })
  const stateful = core.stateful as NonNullable<typeof core.stateful>
  await stateful.accounts.createUser({ username: 'alice', password: PASSWORD })
  const { deviceToken } = await stateful.login.login({ username: 'alice', password: PASSWORD, clientAddress: '203.0.113.7' })
  t.ok(deviceToken.length > 40)
})

t.test('revocation sync failures and recovery are logged, with the error', async (t) => {
  const store = createMemoryStore()
  const list = store.revocations.list
  let failing = false
  store.revocations.list = async (query) => {
    if (failing) throw new Error('database is down')
    return await list(query)
  }
  const { log, lines } = recordingLogger()
  const core = createAuthCore({ secret: SECRET, store, revocation: { syncInterval: '10ms', maxStaleness: '100ms' } }, { log })
  t.teardown(async () => { await core.stop() })
  await core.start()
  // Polls run on their own timer: wait for what they report, within a generous bound.
  const eventually = async (line: string): Promise<boolean> => {
    for (let waited = 0; waited < 10_000 && !lines.includes(line); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
    return lines.includes(line)
  }
  failing = true
  t.ok(await eventually('error: cannot read token revocations; authenticated requests answer 503 until the store is back'), lines.join('\n'))
  failing = false
  t.ok(await eventually('info: token revocations are in sync again'), lines.join('\n'))
})

t.test('a store of your own needs no profile fields, and a session deleted between lookup and rotation is an unknown token', async (t) => {
  const memory = createMemoryStore()
  const { profileFields: _none, ...store } = memory
  const core = createAuthCore({ secret: SECRET, store, passwords: { hasher: new FastTestHasher() } })
  const stateful = core.stateful as NonNullable<typeof core.stateful>
  t.same((await stateful.accounts.createUser({ username: 'alice', password: PASSWORD })).profile, {}, 'no profile fields')
  const user = await stateful.accounts.findUserByUsername('alice')
  const session = await stateful.sessions.start(user as NonNullable<typeof user>)
  // The user is deleted by another instance after the refresh read the session, before it rotated.
  const rotate = memory.families.rotate
  memory.families.rotate = async (...args) => {
    await stateful.accounts.deleteUser((user as NonNullable<typeof user>).id)
    return await rotate(...args)
  }
  await t.rejects(stateful.sessions.refresh(session.refreshToken), { code: 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN', message: /unknown token/ })
})

t.test('a core without a logger goes through a failing sync silently, failing closed', async (t) => {
  const store = createMemoryStore()
  const core = createAuthCore({ secret: SECRET, store, revocation: { syncInterval: '10ms', maxStaleness: '50ms' } })
  t.teardown(async () => { await core.stop() })
  await core.start()
  const { token } = ownTokens(core).sign({ sub: 'u1' })
  store.revocations.list = async () => { throw new Error('database is down') }
  let refused = false
  for (let waited = 0; waited < 10_000 && !refused; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    try { ownTokens(core).verify(token) } catch (error) { refused = (error as { code?: string }).code === 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE' }
  }
  t.ok(refused, 'verification answers 503 once the list is stale')
})
