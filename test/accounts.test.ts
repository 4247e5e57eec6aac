import t, { type Test } from 'tap'
import { createAuthCore, UserNotFoundError, UsernameTakenError, type AuthStore, type Revocation } from 'fastify-token-auth'
import type { Accounts } from '../lib/accounts/accounts.js'
import { PASSWORD, SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { forEachStore } from './helpers/stores.js'

// The account lifecycle, written once over the store's users port, on every store:
// in memory, and knex on SQLite, PostgreSQL and MariaDB.

interface Setup { store: AuthStore, accounts: Accounts, revocations: Revocation[], clock: TestClock }

async function setup (t: Test, target: Parameters<Parameters<typeof forEachStore>[2]>[1], profileColumns?: string[]): Promise<Setup> {
  const store = await target.create(t, profileColumns === undefined ? {} : { profileColumns })
  const clock = new TestClock()
  const core = createAuthCore({ secret: SECRET, store, passwords: { bcryptCost: 10 }, maxTokenTtl: '2h' }, { clock })
  const stateful = core.stateful as NonNullable<typeof core.stateful>
  const revocations: Revocation[] = []
  const add = stateful.revocations.add.bind(stateful.revocations)
  stateful.revocations.add = (revocation) => { revocations.push(revocation); add(revocation) }
  return { store, accounts: stateful.accounts, revocations, clock }
}

forEachStore(t, 'createUser stores a normalised username and a bcrypt hash, never the password', async (t, target) => {
  const { accounts } = await setup(t, target)
  const user = await accounts.createUser({ username: 'Alice', password: PASSWORD, email: 'a@example.com', roles: ['admin', 'admin', 'ops'] })
  t.match(user, { username: 'alice', email: 'a@example.com', roles: ['admin', 'ops'], disabled: false, tokenVersion: 0 })
  t.match(user.passwordHash, /^\$2b\$10\$/)
  t.not(user.passwordHash.includes(PASSWORD), true)
  for (const spelling of ['alice', 'ALICE', 'Ａｌｉｃｅ']) {
    t.equal((await accounts.findUserByUsername(spelling))?.id, user.id, spelling)
  }
  t.same(await accounts.findUserById(user.id), user)
  t.equal(await accounts.findUserById('00000000-0000-0000-0000-000000000000'), undefined)
  t.equal(await accounts.findUserById(42 as never), undefined, 'an id that is not a string is simply unknown')
  t.equal(await accounts.findUserByUsername('bob'), undefined)
  t.equal(await accounts.findUserByUsername(''), undefined, 'an unusable username is simply unknown')
  t.equal(await accounts.findUserByUsername('bob\u0000'), undefined, 'a NUL never reaches the database')
})

forEachStore(t, 'createUser stores an email as unproven, unless the application says it is verified', async (t, target) => {
  const { accounts, clock } = await setup(t, target)
  t.equal((await accounts.createUser({ username: 'ann', password: PASSWORD, email: 'ann@example.com' })).emailVerifiedAt, null)
  const imported = await accounts.createUser({ username: 'ben', password: PASSWORD, email: 'Ben@Example.com', emailVerified: true })
  t.equal(imported.emailVerifiedAt, Math.floor(clock.now() / 1000), 'verified as of its creation')
  t.equal((await accounts.findUserById(imported.id))?.emailVerifiedAt, imported.emailVerifiedAt, 'and stored so')
  t.equal((await accounts.createUser({ username: 'cy', password: PASSWORD, emailVerified: true })).emailVerifiedAt, null, 'no email: nothing to be verified')
  await t.rejects(accounts.createUser({ username: 'di', password: PASSWORD, email: 'di@example.com', emailVerified: 'yes' as never }), { code: 'FST_TOKEN_AUTH_INVALID_USER', message: /emailVerified must be a boolean/ })
  t.equal(await accounts.findUserByUsername('di'), undefined)
})

forEachStore(t, 'a duplicate username is a 409 and leaves exactly one row', async (t, target) => {
  const { accounts } = await setup(t, target)
  const first = await accounts.createUser({ username: 'bob', password: PASSWORD })
  await t.rejects(accounts.createUser({ username: 'BOB', password: 'another password' }), UsernameTakenError)
  const results = await Promise.allSettled(Array.from({ length: 10 }, async () => await accounts.createUser({ username: 'carol', password: PASSWORD })))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'ten parallel creations, one winner')
  t.ok(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof UsernameTakenError))
  t.equal((await accounts.findUserByUsername('bob'))?.id, first.id)
})

forEachStore(t, 'createUser refuses passwords bcrypt would mangle and malformed users, with 400 errors', async (t, target) => {
  const { accounts } = await setup(t, target)
  const refusals: Array<[string, Record<string, unknown>, string]> = [
    ['an empty password', { password: '' }, 'FST_TOKEN_AUTH_PASSWORD_REJECTED'],
    ['a password with NUL', { password: 'abc\u0000defghij' }, 'FST_TOKEN_AUTH_PASSWORD_REJECTED'],
    ['a 73-byte password', { password: 'x'.repeat(72) + 'y' }, 'FST_TOKEN_AUTH_PASSWORD_REJECTED'],
    ['"\\uFDFA" x 3 (9 bytes, 99 after NFKC)', { password: '\uFDFA\uFDFA\uFDFA' }, 'FST_TOKEN_AUTH_PASSWORD_REJECTED'],
    ['a lone surrogate', { password: 'password\uD800x' }, 'FST_TOKEN_AUTH_PASSWORD_REJECTED'],
    ['a password below the minimum length', { password: 'short' }, 'FST_TOKEN_AUTH_PASSWORD_REJECTED'],
    ['a password that is not a string', { password: 12345678 }, 'FST_TOKEN_AUTH_PASSWORD_REJECTED'],
    ['an empty username', { username: '' }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['a username with a control character', { username: 'a\u0007b' }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['a username with a NUL', { username: 'a\u0000b' }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['a username with surrounding spaces', { username: ' dave ' }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['a username over 254 characters', { username: 'd'.repeat(255) }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['a username that is not a string', { username: ['dave'] }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['an email without @', { email: 'nope' }, 'FST_TOKEN_AUTH_INVALID_USER'],
    ['roles that are not strings', { roles: [1] }, 'FST_TOKEN_AUTH_INVALID_USER'],
    ['a profile field the store does not have', { profile: { tenant: 'x' } }, 'FST_TOKEN_AUTH_INVALID_USER'],
    ['a profile that is not an object', { profile: ['x'] }, 'FST_TOKEN_AUTH_INVALID_USER']
  ]
  for (const [name, change, code] of refusals) {
    await t.rejects(accounts.createUser({ username: 'dave', password: PASSWORD, ...change } as never), { code, statusCode: 400 }, name)
  }
  await t.rejects(accounts.createUser(null as never), { code: 'FST_TOKEN_AUTH_INVALID_USER' })
  t.equal(await accounts.findUserByUsername('dave'), undefined, 'nothing was written')
  t.ok(await accounts.createUser({ username: 'dave', password: 'x'.repeat(72) }), '72 bytes is the limit, accepted')
})

forEachStore(t, 'changePassword, setDisabled, revokeUserTokens and deleteUser raise the token version, end the sessions and revoke for every instance', async (t, target) => {
  const { store, accounts, revocations, clock } = await setup(t, target)
  const user = await accounts.createUser({ username: 'erin', password: PASSWORD })
  const now = Math.floor(clock.now() / 1000)
  await store.families.create({ id: 'fam', userId: user.id, tokenVersion: 0, createdAt: now, expiresAt: now + 600, clientAddress: null, userAgent: null, authMethods: ['pwd'] }, { hash: 'a'.repeat(64), expiresAt: now + 600 })
  const changed = await accounts.changePassword(user.id, 'a brand new password')
  t.equal(changed.tokenVersion, 1)
  t.not(changed.passwordHash, user.passwordHash)
  t.not((await store.families.findByToken('a'.repeat(64)))?.family.revokedAt, null, 'the session was revoked with it')
  t.equal(await store.families.rotate('fam', 'a'.repeat(64), { hash: 'b'.repeat(64), expiresAt: now + 600 }, now), false, 'so it can never rotate again')
  await t.rejects(accounts.changePassword(user.id, 'short'), { code: 'FST_TOKEN_AUTH_PASSWORD_REJECTED' })
  await accounts.setDisabled(user.id, true)
  await accounts.setDisabled(user.id, true)
  t.match(await accounts.findUserById(user.id), { disabled: true, tokenVersion: 2 }, 'disabling twice bumps once')
  await accounts.setDisabled(user.id, false)
  t.match(await accounts.findUserById(user.id), { disabled: false, tokenVersion: 2 }, 'enabling does not revoke')
  await accounts.revokeUserTokens(user.id)
  t.equal((await accounts.findUserById(user.id))?.tokenVersion, 3)
  await accounts.deleteUser(user.id)
  t.equal(await accounts.findUserById(user.id), undefined)
  t.equal(await store.families.findByToken('a'.repeat(64)), undefined, 'the user\'s sessions are gone')
  t.same(revocations.map((r) => [r.kind, r.subject, r.version]), [['user', user.id, 1], ['user', user.id, 2], ['user', user.id, 3], ['user', user.id, 4]], 'applied on this instance at once')
  t.ok(revocations.every((r) => r.expiresAt >= now + 7200 + 5), 'kept as long as maxTokenTtl plus clock tolerance')
  const rows = await store.revocations.list({ afterId: 0 })
  t.same(rows.map((r) => [r.kind, r.subject, r.version]), [['user', user.id, 1], ['user', user.id, 2], ['user', user.id, 3], ['user', user.id, 4]], 'and stored for other instances')
  const onMissingUser: Array<() => Promise<unknown>> = [
    async () => await accounts.changePassword(user.id, 'yet another password'),
    async () => { await accounts.setDisabled(user.id, true) },
    async () => { await accounts.setDisabled(user.id, false) },
    async () => { await accounts.revokeUserTokens(user.id) },
    async () => { await accounts.deleteUser(user.id) },
    async () => await accounts.updateUser(user.id, { email: 'x@example.com' })
  ]
  for (const operation of onMissingUser) await t.rejects(operation, UserNotFoundError)
})

forEachStore(t, 'updateUser changes email, roles and profile fields, and validates them', async (t, target) => {
  const { accounts } = await setup(t, target, ['display_name'])
  const user = await accounts.createUser({ username: 'gina', password: PASSWORD, profile: { display_name: 'Gina' } })
  t.same(user.profile, { display_name: 'Gina' })
  const updated = await accounts.updateUser(user.id, { email: 'g@example.com', roles: ['ops'], profile: { display_name: 'G.' } })
  t.match(updated, { email: 'g@example.com', roles: ['ops'], profile: { display_name: 'G.' }, tokenVersion: 0 })
  t.same(await accounts.findUserById(user.id), updated)
  await t.rejects(accounts.updateUser(user.id, { roles: [''] }), { code: 'FST_TOKEN_AUTH_INVALID_USER' })
  await t.rejects(accounts.updateUser(user.id, { profile: { tenant: 1 } }), { code: 'FST_TOKEN_AUTH_INVALID_USER' })
  t.same(await accounts.updateUser(user.id, {}), updated, 'an empty change changes nothing')
  t.same((await accounts.createUser({ username: 'hugo', password: PASSWORD })).profile, { display_name: null }, 'a field not given is null')
})

forEachStore(t, 'a password change racing a disable: both take effect and the version rises twice', async (t, target) => {
  const { accounts } = await setup(t, target)
  const user = await accounts.createUser({ username: 'hana', password: PASSWORD })
  await Promise.all([accounts.changePassword(user.id, 'another good password'), accounts.setDisabled(user.id, true)])
  t.match(await accounts.findUserById(user.id), { disabled: true, tokenVersion: 2 })
})
