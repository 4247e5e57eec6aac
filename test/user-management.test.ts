import t, { type Test } from 'tap'
import { createAuthCore, SessionNotFoundError, UserNotFoundError, type AuthEvent, type AuthStore, type IssuedSession, type UserRecord } from 'fastify-token-auth'
import type { AuthCore } from '../lib/core/auth-core.js'
import { PASSWORD, SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { forEachStore, memoryStoreTarget, type StoreTarget } from './helpers/stores.js'

// app.tokenAuth.accounts beyond create/update/delete: pages of users, lookup by email,
// role changes that reach live tokens, unlocking an account, and a user's sessions.

interface Setup {
  store: AuthStore
  core: AuthCore
  stateful: NonNullable<AuthCore['stateful']>
  accounts: NonNullable<AuthCore['stateful']>['management']
  events: AuthEvent[]
  clock: TestClock
}

async function setup (t: Test, target: StoreTarget, options: { throttle?: { maxAccountFailures: number } } = {}): Promise<Setup> {
  const store = await target.create(t)
  const clock = new TestClock()
  const events: AuthEvent[] = []
  const core = createAuthCore({ secret: SECRET, store, passwords: { hasher: new FastTestHasher() }, onAuthEvent: (event) => { events.push(event) }, ...options }, { clock })
  const stateful = core.stateful as NonNullable<AuthCore['stateful']>
  // The first revocation sync: until then no token can be checked.
  await core.start()
  t.teardown(async () => { await core.stop() })
  return { store, core, stateful, accounts: stateful.management, events, clock }
}

const of = <T extends AuthEvent['type']>(events: AuthEvent[], type: T): AuthEvent[] => events.filter((event) => event.type === type)

forEachStore(t, 'listUsers pages through every user exactly once, by username, however the page size divides them', async (t, target) => {
  const { accounts } = await setup(t, target)
  const names = ['zoe', 'Adam', 'bob', 'b_b', 'b%b', 'Émile', 'eve', 'carol', 'dave', 'frank', 'grace', 'heidi', 'ivan', 'judy', '名前']
  for (const username of names) await accounts.createUser({ username, password: PASSWORD })
  const expected = names.map((name) => name.normalize('NFKC').toLowerCase()).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  for (const limit of [1, 4, 5, 15, 1000]) {
    const seen: string[] = []
    let after: string | undefined
    for (let pages = 0; pages < 20; pages++) {
      const page = await accounts.listUsers({ after, limit })
      t.ok(page.users.length <= limit)
      seen.push(...page.users.map((user) => user.username))
      if (page.next === null) break
      t.equal(page.next, page.users[page.users.length - 1].username, 'the cursor is the last username')
      after = page.next
    }
    t.same(seen, expected, `limit ${limit}: every user once, in byte order`)
  }
  t.equal((await accounts.listUsers()).users.length, names.length, 'fifty by default')
  t.same((await accounts.listUsers({ limit: 3 })).users[0], await accounts.findUserByUsername('adam'), 'whole user records')
})

forEachStore(t, 'listUsers search matches the username or email in any case and spelling, literally', async (t, target) => {
  const { accounts } = await setup(t, target)
  await accounts.createUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com' })
  await accounts.createUser({ username: 'bob', password: PASSWORD, email: 'robert@Corp.example' })
  await accounts.createUser({ username: 'b_b', password: PASSWORD })
  await accounts.createUser({ username: 'b%b', password: PASSWORD })
  await accounts.createUser({ username: 'bxb', password: PASSWORD })
  const usernames = async (search: string): Promise<string[]> => (await accounts.listUsers({ search })).users.map((user) => user.username)
  t.same(await usernames('ALI'), ['alice'], 'any case')
  t.same(await usernames('ＡＬＩ'), ['alice'], 'full-width letters, as NFKC spells them')
  t.same(await usernames('corp.EXAMPLE'), ['bob'], 'the email too')
  t.same(await usernames('_'), ['b_b'], '_ is a character, not a wildcard')
  t.same(await usernames('%'), ['b%b'], '% is a character, not a wildcard')
  t.same(await usernames('example'), ['alice', 'bob'])
  t.same(await usernames(''), ['alice', 'b%b', 'b_b', 'bob', 'bxb'], 'an empty search is no search')
  t.same(await usernames('a\u0000'), [], 'a NUL can be in no username or email: nothing, and no database call')
  t.same(await usernames('nobody'), [])
  t.same((await accounts.listUsers({ search: 'b', limit: 2 })).next, 'b_b', 'a search pages like a list')
  t.same((await accounts.listUsers({ search: 'b', after: 'b_b', limit: 2 })).users.map((user) => user.username), ['bob', 'bxb'])
})

t.test('listUsers refuses a limit, cursor or search it cannot honour, as the programming error it is', async (t) => {
  const { accounts } = await setup(t, memoryStoreTarget())
  for (const limit of [0, 1001, 1.5, Number.NaN, '5' as unknown as number]) {
    await t.rejects(accounts.listUsers({ limit }), TypeError, `limit ${String(limit)}`)
  }
  await t.rejects(accounts.listUsers({ search: 'x'.repeat(255) }), TypeError, 'a search longer than any name')
  await t.rejects(accounts.listUsers({ search: 42 as unknown as string }), TypeError)
  await t.rejects(accounts.listUsers({ after: 'x'.repeat(255) }), TypeError, 'a cursor longer than any username')
  await t.rejects(accounts.listUsers({ after: 'alice\u0000' }), TypeError, 'a cursor with a NUL, which no username holds')
  t.same(await accounts.listUsers({ limit: 1000 }), { users: [], next: null })
})

forEachStore(t, 'findUserByEmail finds a user by any spelling of the address; a value that is no address finds nobody', async (t, target) => {
  const { accounts } = await setup(t, target)
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD, email: 'Alice@Example.com' })
  for (const spelling of ['alice@example.com', 'ALICE@EXAMPLE.COM', 'ａｌｉｃｅ@example.com']) {
    t.equal((await accounts.findUserByEmail(spelling))?.id, alice.id, spelling)
  }
  t.equal(await accounts.findUserByEmail('bob@example.com'), undefined)
  for (const value of ['', 'no-at-sign', 'a\u0000@example.com', `${'a'.repeat(250)}@x.io`, 42 as unknown as string]) {
    t.equal(await accounts.findUserByEmail(value), undefined, `${JSON.stringify(value)} is no address`)
  }
})

forEachStore(t, 'updateUser keeps the email\'s verification when the email does not change, and resets it when it does', async (t, target) => {
  const { accounts, store, events } = await setup(t, target)
  const user = await accounts.createUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com' })
  await store.users.update(user.id, { set: { emailVerifiedAt: 1_900_000_000 } })
  const same = await accounts.updateUser(user.id, { email: 'ALICE@example.com', roles: ['ops'] })
  t.match(same, { email: 'alice@example.com', emailVerifiedAt: 1_900_000_000, roles: ['ops'] }, 'the same address in another case is the same address')
  t.match(events.at(-1), { type: 'user.updated', fields: ['roles'], sessionsEnded: false }, 'the email is not reported as changed')
  const moved = await accounts.updateUser(user.id, { email: 'alice@elsewhere.example' })
  t.match(moved, { email: 'alice@elsewhere.example', emailVerifiedAt: null }, 'a new address is unproven')
  t.match(events.at(-1), { type: 'user.updated', fields: ['email'] })
  t.match(await accounts.updateUser(user.id, { email: null }), { email: null, emailVerifiedAt: null })
})

t.test('updateUser resets the verification when the email changed between its read and its write', async (t) => {
  const target = memoryStoreTarget()
  const store = await target.create(t)
  const clock = new TestClock()
  const user = await (createAuthCore({ secret: SECRET, store, passwords: { hasher: new FastTestHasher() } }).stateful as NonNullable<AuthCore['stateful']>).accounts.createUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com' })
  await store.users.update(user.id, { set: { emailVerifiedAt: 1_900_000_000 } })
  // Another request changes the address right after this update read the user.
  let raced = false
  const users = {
    ...store.users,
    async findById (id: string): Promise<UserRecord | undefined> {
      const found = await store.users.findById(id)
      if (!raced) { raced = true; await store.users.update(id, { set: { email: 'attacker@example.com', emailVerifiedAt: 1_900_000_001 } }) }
      return found
    }
  }
  const core = createAuthCore({ secret: SECRET, store: { ...store, users, migrate: store.migrate }, passwords: { hasher: new FastTestHasher() } }, { clock })
  const updated = await (core.stateful as NonNullable<AuthCore['stateful']>).management.updateUser(user.id, { email: 'alice@example.com' })
  t.match(updated, { email: 'alice@example.com', emailVerifiedAt: null }, 'the address set last wins, and is unproven')
})

/** A core whose users port lets `race` write after each of the first `races` reads of updateUser. */
async function racedCore (t: Test, races: number, race: (store: AuthStore, id: string) => Promise<void>): Promise<{ store: AuthStore, core: AuthCore, events: AuthEvent[] }> {
  const store = await memoryStoreTarget().create(t)
  let reads = 0
  const users = {
    ...store.users,
    async findById (id: string): Promise<UserRecord | undefined> {
      const found = await store.users.findById(id)
      if (++reads <= races) await race(store, id)
      return found
    }
  }
  const events: AuthEvent[] = []
  const core = createAuthCore({ secret: SECRET, store: { ...store, users, migrate: store.migrate }, passwords: { hasher: new FastTestHasher() }, onAuthEvent: (event) => { events.push(event) } })
  return { store, core, events }
}

t.test('a roles write decided from an older read does not drop a role granted meanwhile without ending the sessions that got it', async (t) => {
  let granted = false
  const { store, core, events } = await racedCore(t, 1, async (store, id) => {
    // Another admin grants 'billing' between this update's read and its write.
    if (!granted) { granted = true; await store.users.update(id, { set: { roles: ['staff', 'billing'] } }) }
  })
  const accounts = (core.stateful as NonNullable<AuthCore['stateful']>).accounts
  const user = await accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['staff'] })
  const updated = await (core.stateful as NonNullable<AuthCore['stateful']>).management.updateUser(user.id, { roles: ['staff', 'support'] })
  t.same(updated.roles, ['staff', 'support'])
  t.equal(updated.tokenVersion, 1, 'decided again from the new roles: billing is taken away, so every session ended')
  t.match(of(events, 'user.updated'), [{ fields: ['roles'], sessionsEnded: true }])
  t.equal((await store.users.findById(user.id))?.tokenVersion, 1)
})

t.test('a roles write whose condition keeps failing ends the sessions on its last, unconditional try', async (t) => {
  let reads = 0
  const { core } = await racedCore(t, 3, async (store, id) => {
    // Every read is followed by another write to the roles, each leaving the update a pure
    // grant from what it read (so each try is conditional), and each failing its condition.
    await store.users.update(id, { set: { roles: ++reads % 2 === 1 ? [] : ['staff'] } })
  })
  const accounts = (core.stateful as NonNullable<AuthCore['stateful']>).accounts
  const user = await accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['staff'] })
  const updated = await (core.stateful as NonNullable<AuthCore['stateful']>).management.updateUser(user.id, { roles: ['staff', 'support'] })
  t.same(updated.roles, ['staff', 'support'])
  // Each conditional try was a pure grant from its read, which ends no session: only the last try ends them.
  t.equal(updated.tokenVersion, 1, 'no condition could hold, so the role change ends every session rather than risk a stale grant')
})

t.test('a user deleted before the last, unconditional try of an update is a 404', async (t) => {
  let reads = 0
  const { core } = await racedCore(t, 3, async (store, id) => {
    if (++reads < 3) await store.users.update(id, { set: { roles: reads % 2 === 1 ? [] : ['staff'] } })
    else await store.users.delete(id, { now: 0, expiresAt: 1 })
  })
  const accounts = (core.stateful as NonNullable<AuthCore['stateful']>).accounts
  const user = await accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['staff'] })
  await t.rejects((core.stateful as NonNullable<AuthCore['stateful']>).management.updateUser(user.id, { roles: ['staff', 'support'] }), UserNotFoundError)
})

t.test('updateUser on a user deleted meanwhile, before either of its writes, is a 404 and writes nothing', async (t) => {
  for (const deleteOnRead of [1, 2]) {
    const store = await memoryStoreTarget().create(t)
    const user = await (createAuthCore({ secret: SECRET, store, passwords: { hasher: new FastTestHasher() } }).stateful as NonNullable<AuthCore['stateful']>).accounts.createUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com' })
    let reads = 0
    const users = {
      ...store.users,
      async findById (id: string): Promise<UserRecord | undefined> {
        const found = await store.users.findById(id)
        reads++
        // The first read's write fails on the email it expects; the deletion lands after read `deleteOnRead`.
        if (reads === 1) await store.users.update(id, { set: { email: 'moved@example.com' } })
        if (reads === deleteOnRead) await store.users.delete(id, { now: 0, expiresAt: 1 })
        return found
      }
    }
    const core = createAuthCore({ secret: SECRET, store: { ...store, users, migrate: store.migrate }, passwords: { hasher: new FastTestHasher() } })
    await t.rejects((core.stateful as NonNullable<AuthCore['stateful']>).management.updateUser(user.id, { email: 'alice@example.com' }), UserNotFoundError, `deleted after read ${deleteOnRead}`)
    t.equal(await store.users.findByEmail('alice@example.com'), undefined)
  }
})

forEachStore(t, 'taking a role away ends every session of the user at once; the refresh token and the old access token are refused', async (t, target) => {
  const { accounts, stateful, core, store, events } = await setup(t, target)
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['admin', 'ops'] })
  const session = await stateful.sessions.start(alice)
  t.match(await core.verifier.verify(session.accessToken), { roles: ['admin', 'ops'] })
  const updated = await accounts.updateUser(alice.id, { roles: ['ops'] })
  t.equal(updated.tokenVersion, alice.tokenVersion + 1, 'one atomic write raised the token version')
  t.throws(() => core.verifier.verify(session.accessToken), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' }, 'refused on this instance at once')
  await t.rejects(stateful.sessions.refresh(session.refreshToken), { code: 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN' })
  t.same((await store.revocations.list({ afterId: 0 })).map((r) => [r.kind, r.subject, r.version]), [['user', alice.id, 1]], 'stored for every other instance')
  t.same(await accounts.listSessions(alice.id), [], 'no live session left')
  t.match(of(events, 'user.updated'), [{ userId: alice.id, fields: ['roles'], sessionsEnded: true }])
  const next = await stateful.sessions.start(updated)
  t.match(await core.verifier.verify(next.accessToken), { roles: ['ops'] }, 'a new login gets the roles left')
})

forEachStore(t, 'adding a role ends nothing: live sessions get it at their next refresh', async (t, target) => {
  const { accounts, stateful, core, clock } = await setup(t, target)
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['ops'] })
  const session = await stateful.sessions.start(alice)
  const updated = await accounts.updateUser(alice.id, { roles: ['ops', 'admin'] })
  t.equal(updated.tokenVersion, alice.tokenVersion, 'no revocation')
  t.match(await core.verifier.verify(session.accessToken), { roles: ['ops'] }, 'the live token keeps its claims until it is refreshed')
  clock.advance(1000)
  const refreshed = await stateful.sessions.refresh(session.refreshToken)
  t.match(await core.verifier.verify(refreshed.accessToken), { roles: ['ops', 'admin'], sid: session.sessionId }, 'the refresh rebuilt the claims from the stored user')
  const reordered = await accounts.updateUser(alice.id, { roles: ['admin', 'ops'] })
  t.equal(reordered.tokenVersion, alice.tokenVersion, 'the same roles in another order take nothing away')
})

forEachStore(t, 'a role removal racing refreshes: no refreshed token that carries the removed role is accepted once the removal returned', async (t, target) => {
  const { accounts, stateful, core } = await setup(t, target)
  for (let round = 0; round < 12; round++) {
    const user = await accounts.createUser({ username: `racer${round}`, password: PASSWORD, roles: ['admin', 'ops'] })
    const sessions = await Promise.all(Array.from({ length: 3 }, async () => await stateful.sessions.start(user)))
    const refreshAll = (): Array<Promise<IssuedSession>> => sessions.map(async (session) => await stateful.sessions.refresh(session.refreshToken))
    let settled: Array<PromiseSettledResult<IssuedSession>>
    if (round === 0) {
      // Wholly after the refreshes, then wholly before them: the two ends of the race.
      settled = await Promise.allSettled(refreshAll())
      await accounts.updateUser(user.id, { roles: ['ops'] })
    } else if (round === 1) {
      await accounts.updateUser(user.id, { roles: ['ops'] })
      settled = await Promise.allSettled(refreshAll())
    } else {
      // Settled from the start: a refresh refused while the removal is still
      // writing must not count as an unhandled rejection.
      const refreshes = Promise.allSettled(refreshAll())
      // A later start each round: the removal lands between the refreshes' steps.
      for (let tick = 0; tick < round * 2; tick++) await Promise.resolve()
      await accounts.updateUser(user.id, { roles: ['ops'] })
      settled = await refreshes
    }
    for (const result of settled) {
      if (result.status === 'rejected') {
        t.match(result.reason, { code: 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN' })
        continue
      }
      let roles: unknown
      try { roles = (await core.verifier.verify(result.value.accessToken) as { roles?: unknown }).roles } catch (error) { t.match(error, { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' }) }
      t.notOk(Array.isArray(roles) && roles.includes('admin'), `round ${round}: an accepted token never carries the removed role`)
      await t.rejects(stateful.sessions.refresh(result.value.refreshToken), { code: 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN' }, 'and its refresh token is spent on nothing')
    }
  }
})

forEachStore(t, 'unlockUser lifts the account\'s lockout: the user logs in again at once', async (t, target) => {
  const { accounts, core, events } = await setup(t, target, { throttle: { maxAccountFailures: 3 } })
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD })
  const attempt = async (password: string, clientAddress: string): Promise<unknown> => await core.logIn({ username: 'ALICE', password, clientAddress })
  for (let i = 0; i < 3; i++) await t.rejects(attempt('wrong password', `198.51.100.${i}`), { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS' })
  await t.rejects(attempt(PASSWORD, '198.51.100.9'), { code: 'FST_TOKEN_AUTH_LOGIN_THROTTLED' }, 'locked, from any address')
  await accounts.unlockUser(alice.id, { actorId: 'admin-id', sessionId: 'admin-session', address: '192.0.2.1' })
  t.ok(await attempt(PASSWORD, '198.51.100.9'), 'unlocked')
  t.match(of(events, 'user.unlocked'), [{ userId: alice.id, actorId: 'admin-id', sessionId: 'admin-session', address: '192.0.2.1' }])
  await t.rejects(accounts.unlockUser('00000000-0000-0000-0000-000000000000'), UserNotFoundError)
  await t.rejects(accounts.unlockUser(7 as unknown as string), UserNotFoundError)
  await accounts.unlockUser(alice.id)
  t.equal(of(events, 'user.unlocked').length, 2, 'unlocking an unlocked account is harmless')
})

forEachStore(t, 'listSessions shows each live session, newest first, with where it was last used from', async (t, target) => {
  const { accounts, stateful, clock } = await setup(t, target)
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD })
  const bob = await accounts.createUser({ username: 'bob', password: PASSWORD })
  t.same(await accounts.listSessions(alice.id), [], 'none yet')
  const first = await stateful.sessions.start(alice, { clientAddress: '198.51.100.1', userAgent: 'Firefox' })
  const start = Math.floor(clock.now() / 1000)
  clock.advance(10_000)
  const second = await stateful.sessions.start(alice, { clientAddress: '198.51.100.2' })
  await stateful.sessions.start(bob)
  const listed = await accounts.listSessions(alice.id)
  t.same(listed.map((session) => session.id), [second.sessionId, first.sessionId], 'newest first, alice\'s only')
  t.match(listed[1], { createdAt: start, lastUsedAt: start, clientAddress: '198.51.100.1', userAgent: 'Firefox' })
  t.ok(Math.abs(listed[1].expiresAt - (start + 30 * 86400)) <= 1, 'the absolute end of the session')
  t.match(listed[0], { clientAddress: '198.51.100.2', userAgent: null })
  clock.advance(5000)
  await stateful.sessions.refresh(first.refreshToken, { clientAddress: '203.0.113.5', userAgent: 'Safari' })
  const refreshed = (await accounts.listSessions(alice.id)).find((session) => session.id === first.sessionId)
  t.match(refreshed, { createdAt: start, lastUsedAt: start + 15, clientAddress: '203.0.113.5', userAgent: 'Safari' }, 'a refresh moves "last used"')
  await stateful.sessions.revoke(second.sessionId)
  t.same((await accounts.listSessions(alice.id)).map((session) => session.id), [first.sessionId], 'an ended session is gone')
  await t.rejects(accounts.listSessions('00000000-0000-0000-0000-000000000000'), UserNotFoundError)
  await t.rejects(accounts.listSessions(1 as unknown as string), UserNotFoundError)
})

forEachStore(t, 'endSession ends one session of the user and its access tokens; another user\'s session is not found, and nothing ends', async (t, target) => {
  const { accounts, stateful, core, events } = await setup(t, target)
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD })
  const bob = await accounts.createUser({ username: 'bob', password: PASSWORD })
  const kept = await stateful.sessions.start(alice)
  const ended = await stateful.sessions.start(alice)
  const bobs = await stateful.sessions.start(bob)
  await t.rejects(accounts.endSession(alice.id, bobs.sessionId, { by: 'user' }), SessionNotFoundError)
  await t.rejects(accounts.endSession(alice.id, 'no-such-session', { by: 'user' }), { code: 'FST_TOKEN_AUTH_SESSION_NOT_FOUND', statusCode: 404 })
  await t.rejects(accounts.endSession(alice.id, 5 as unknown as string, { by: 'user' }), SessionNotFoundError)
  t.equal((await accounts.listSessions(bob.id)).length, 1, 'bob\'s session lives on')
  t.ok(await core.verifier.verify(bobs.accessToken))
  await accounts.endSession(alice.id, ended.sessionId, { by: 'admin', actorId: bob.id, sessionId: bobs.sessionId, address: '192.0.2.9' })
  t.throws(() => core.verifier.verify(ended.accessToken), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' }, 'its access token is refused on this instance at once')
  await t.rejects(stateful.sessions.refresh(ended.refreshToken), { code: 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN' })
  t.ok(await core.verifier.verify(kept.accessToken), 'the other session goes on')
  t.same((await accounts.listSessions(alice.id)).map((session) => session.id), [kept.sessionId])
  t.same(of(events, 'session.ended').map(({ at, ...event }) => event), [{ type: 'session.ended', userId: alice.id, by: 'admin', actorId: bob.id, address: '192.0.2.9', sessionId: ended.sessionId, actorSessionId: bobs.sessionId }])
  await t.rejects(accounts.endSession(alice.id, ended.sessionId, { by: 'user' }), SessionNotFoundError, 'an ended session is not found')
})

forEachStore(t, 'fifty concurrent endSession calls on one session: one ends it, the rest find nothing, one event', async (t, target) => {
  const { accounts, stateful, events } = await setup(t, target)
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD })
  const session = await stateful.sessions.start(alice)
  const results = await Promise.allSettled(Array.from({ length: 50 }, async () => { await accounts.endSession(alice.id, session.sessionId, { by: 'user' }) }))
  t.equal(results.filter((result) => result.status === 'fulfilled').length, 1)
  t.ok(results.every((result) => result.status === 'fulfilled' || result.reason instanceof SessionNotFoundError))
  t.equal(of(events, 'session.ended').length, 1)
})

forEachStore(t, 'endAllSessions ends every token of the user, as logging out everywhere does', async (t, target) => {
  const { accounts, stateful, core, events } = await setup(t, target)
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD })
  const sessions = [await stateful.sessions.start(alice), await stateful.sessions.start(alice)]
  await accounts.endAllSessions(alice.id, { actorId: 'admin-id' })
  for (const session of sessions) t.throws(() => core.verifier.verify(session.accessToken), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
  t.same(await accounts.listSessions(alice.id), [])
  t.equal((await accounts.findUserById(alice.id))?.tokenVersion, 1)
  t.match(of(events, 'user.tokens_revoked'), [{ userId: alice.id, actorId: 'admin-id' }])
  await t.rejects(accounts.endAllSessions('00000000-0000-0000-0000-000000000000'), UserNotFoundError)
})
