import t from 'tap'
import { UserNotFoundError, UsernameTakenError, type Revocation, type RefreshTokenRow } from 'fastify-token-auth'
import { PASSWORD } from './helpers/app.js'
import { forEachStore } from './helpers/stores.js'

// One contract, every store: in memory, and knex on SQLite, PostgreSQL and MariaDB.

const now = (): number => Math.floor(Date.now() / 1000)

function refreshRow (overrides: Partial<RefreshTokenRow> = {}): RefreshTokenRow {
  const at = now()
  return { tokenHash: 'a'.repeat(64), userId: 'u1', familyId: 'f1', tokenVersion: 0, issuedAt: at, expiresAt: at + 600, sessionExpiresAt: at + 3600, ...overrides }
}

forEachStore(t, 'migrate can run again on a migrated store', async (t, target) => {
  const store = await target.create(t)
  await store.migrate()
  t.ok(await store.createUser({ username: 'alice', password: PASSWORD }))
})

forEachStore(t, 'createUser stores a normalised username and a bcrypt hash, never the password', async (t, target) => {
  const store = await target.create(t)
  const user = await store.createUser({ username: 'Alice', password: PASSWORD, email: 'a@example.com', roles: ['admin', 'admin', 'ops'] })
  t.match(user, { username: 'alice', email: 'a@example.com', roles: ['admin', 'ops'], disabled: false, tokenVersion: 0 })
  t.match(user.passwordHash, /^\$2b\$10\$/)
  t.not(user.passwordHash.includes(PASSWORD), true)
  for (const spelling of ['alice', 'ALICE', 'Ａｌｉｃｅ']) {
    t.equal((await store.findUserByUsername(spelling))?.id, user.id, spelling)
  }
  t.same(await store.findUserById(user.id), user)
  t.equal(await store.findUserById('00000000-0000-0000-0000-000000000000'), undefined)
  t.equal(await store.findUserByUsername('bob'), undefined)
  t.equal(await store.findUserByUsername(''), undefined, 'an unusable username is simply unknown')
  t.ok(await store.passwordHasher.verify(PASSWORD, user.passwordHash))
})

forEachStore(t, 'a duplicate username is a 409 and leaves exactly one row', async (t, target) => {
  const store = await target.create(t)
  const first = await store.createUser({ username: 'bob', password: PASSWORD })
  await t.rejects(store.createUser({ username: 'BOB', password: 'another password' }), UsernameTakenError)
  const results = await Promise.allSettled(Array.from({ length: 10 }, async () => await store.createUser({ username: 'carol', password: PASSWORD })))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'ten parallel creations, one winner')
  t.ok(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof UsernameTakenError))
  t.equal((await store.findUserByUsername('bob'))?.id, first.id)
})

forEachStore(t, 'createUser refuses passwords bcrypt would mangle and malformed users, with 400 errors', async (t, target) => {
  const store = await target.create(t)
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
    ['a username with surrounding spaces', { username: ' dave ' }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['a username over 254 characters', { username: 'd'.repeat(255) }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['a username that is not a string', { username: ['dave'] }, 'FST_TOKEN_AUTH_INVALID_USERNAME'],
    ['an email without @', { email: 'nope' }, 'FST_TOKEN_AUTH_INVALID_USER'],
    ['roles that are not strings', { roles: [1] }, 'FST_TOKEN_AUTH_INVALID_USER'],
    ['a profile field the store does not have', { profile: { tenant: 'x' } }, 'FST_TOKEN_AUTH_INVALID_USER']
  ]
  for (const [name, change, code] of refusals) {
    await t.rejects(store.createUser({ username: 'dave', password: PASSWORD, ...change } as never), { code, statusCode: 400 }, name)
  }
  await t.rejects(store.createUser(null as never), { code: 'FST_TOKEN_AUTH_INVALID_USER' })
  t.equal(await store.findUserByUsername('dave'), undefined, 'nothing was written')
  t.ok(await store.createUser({ username: 'dave', password: 'x'.repeat(72) }), '72 bytes is the limit, accepted')
})

forEachStore(t, 'changePassword, setDisabled, revokeUserTokens and deleteUser raise the token version and tell listeners', async (t, target) => {
  const store = await target.create(t)
  const seen: Revocation[] = []
  store.onRevocation((revocation) => { seen.push(revocation) })
  const user = await store.createUser({ username: 'erin', password: PASSWORD })
  await store.insertRefreshToken(refreshRow({ userId: user.id }))
  const changed = await store.changePassword(user.id, 'a brand new password')
  t.equal(changed.tokenVersion, 1)
  t.ok(await store.passwordHasher.verify('a brand new password', changed.passwordHash))
  t.not((await store.findRefreshToken('a'.repeat(64)))?.revokedAt, null, 'refresh tokens revoked')
  await t.rejects(store.changePassword(user.id, 'short'), { code: 'FST_TOKEN_AUTH_PASSWORD_REJECTED' })
  await store.setDisabled(user.id, true)
  await store.setDisabled(user.id, true)
  t.match(await store.findUserById(user.id), { disabled: true, tokenVersion: 2 }, 'disabling twice bumps once')
  await store.setDisabled(user.id, false)
  t.match(await store.findUserById(user.id), { disabled: false, tokenVersion: 2 }, 'enabling does not revoke')
  await store.revokeUserTokens(user.id)
  t.equal((await store.findUserById(user.id))?.tokenVersion, 3)
  await store.deleteUser(user.id)
  t.equal(await store.findUserById(user.id), undefined)
  t.equal(await store.findRefreshToken('a'.repeat(64)), undefined, 'the user\'s refresh tokens are gone')
  t.same(seen.map((r) => [r.kind, r.subject, r.version]), [['user', user.id, 1], ['user', user.id, 2], ['user', user.id, 3], ['user', user.id, 4]])
  t.ok(seen.every((r) => r.expiresAt >= now() + store.userRevocationRetentionSeconds - 5))
  const rows = await store.listRevocations({ afterId: 0 })
  t.same(rows.map((r) => r.version), [1, 2, 3, 4], 'the same revocations are in the store for other instances')
  const onMissingUser: Array<() => Promise<unknown>> = [
    async () => await store.changePassword(user.id, 'yet another password'),
    async () => { await store.setDisabled(user.id, true) },
    async () => { await store.setDisabled(user.id, false) },
    async () => { await store.revokeUserTokens(user.id) },
    async () => { await store.deleteUser(user.id) }
  ]
  for (const operation of onMissingUser) await t.rejects(operation, UserNotFoundError)
})

forEachStore(t, 'replacePasswordHash only replaces the hash it was given', async (t, target) => {
  const store = await target.create(t)
  const user = await store.createUser({ username: 'frank', password: PASSWORD })
  await store.replacePasswordHash(user.id, 'not-the-current-hash', 'x')
  t.equal((await store.findUserById(user.id))?.passwordHash, user.passwordHash)
  await store.replacePasswordHash(user.id, user.passwordHash, 'new-hash')
  t.equal((await store.findUserById(user.id))?.passwordHash, 'new-hash')
})

forEachStore(t, 'a refresh token is spent once, atomically, with its successor stored in the same step', async (t, target) => {
  const store = await target.create(t)
  await store.insertRefreshToken(refreshRow())
  const attempts = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
    await store.spendRefreshToken('a'.repeat(64), now(), (spent) => refreshRow({ tokenHash: String(i).padStart(64, 'b'), familyId: spent.familyId }))))
  const winners = attempts.filter((a) => a.spent)
  t.equal(winners.length, 1, 'twenty concurrent spends, one winner')
  t.ok(attempts.filter((a) => !a.spent).every((a) => a.token?.usedAt !== null), 'the losers see it used')
  const successorHash = attempts.findIndex((a) => a.spent)
  t.match(await store.findRefreshToken(String(successorHash).padStart(64, 'b')), { familyId: 'f1', usedAt: null, revokedAt: null })
  t.equal((await Promise.all(Array.from({ length: 20 }, async (_, i) => await store.findRefreshToken(String(i).padStart(64, 'b'))))).filter(Boolean).length, 1, 'only the winner stored a successor')
  t.same(await store.spendRefreshToken('c'.repeat(64), now(), () => refreshRow()), { spent: false, token: undefined }, 'an unknown token')
  await store.insertRefreshToken(refreshRow({ tokenHash: 'd'.repeat(64), expiresAt: now() - 1 }))
  t.match(await store.spendRefreshToken('d'.repeat(64), now(), () => refreshRow({ tokenHash: 'e'.repeat(64) })), { spent: false, token: { usedAt: null } }, 'an expired token')
  t.equal(await store.findRefreshToken('e'.repeat(64)), undefined)
})

forEachStore(t, 'revokeSession revokes every refresh token of the family and records the session', async (t, target) => {
  const store = await target.create(t)
  const seen: Revocation[] = []
  store.onRevocation((revocation) => { seen.push(revocation) })
  await store.insertRefreshToken(refreshRow({ tokenHash: '1'.repeat(64), familyId: 'fam' }))
  await store.insertRefreshToken(refreshRow({ tokenHash: '2'.repeat(64), familyId: 'fam' }))
  await store.insertRefreshToken(refreshRow({ tokenHash: '3'.repeat(64), familyId: 'other' }))
  await store.revokeSession('fam', now(), now() + 900)
  t.not((await store.findRefreshToken('1'.repeat(64)))?.revokedAt, null)
  t.not((await store.findRefreshToken('2'.repeat(64)))?.revokedAt, null)
  t.equal((await store.findRefreshToken('3'.repeat(64)))?.revokedAt, null)
  t.match(await store.spendRefreshToken('1'.repeat(64), now(), () => refreshRow()), { spent: false })
  t.match(seen, [{ kind: 'session', subject: 'fam', version: 0 }])
})

forEachStore(t, 'revocations are listed by id, after, before and up to a limit', async (t, target) => {
  const store = await target.create(t)
  for (let i = 1; i <= 5; i++) await store.addRevocation({ kind: 'token', subject: `j${i}`, version: 0, expiresAt: now() + 60 })
  const all = await store.listRevocations({ afterId: 0 })
  t.same(all.map((r) => r.subject), ['j1', 'j2', 'j3', 'j4', 'j5'])
  t.ok(all.every((r, i) => i === 0 || r.id > all[i - 1].id))
  t.same((await store.listRevocations({ afterId: all[0].id, beforeId: all[3].id })).map((r) => r.subject), ['j2', 'j3'])
  t.same((await store.listRevocations({ afterId: all[1].id, limit: 2 })).map((r) => r.subject), ['j3', 'j4'])
})

forEachStore(t, 'login failures are counted atomically per key, reset after the window, and cleared', async (t, target) => {
  const store = await target.create(t)
  const at = now()
  await Promise.all(Array.from({ length: 25 }, async () => { await store.recordLoginFailure(['account:x', 'address:1.2.3.4'], at, 900) }))
  t.match(await store.loginFailures(['account:x', 'address:1.2.3.4', 'account:none']), [
    { key: 'account:x', failures: 25, windowStartedAt: at, lastFailureAt: at },
    { key: 'address:1.2.3.4', failures: 25 }
  ])
  await store.recordLoginFailure(['account:x'], at + 100, 900)
  t.match(await store.loginFailures(['account:x']), [{ failures: 26, windowStartedAt: at, lastFailureAt: at + 100 }], 'within the window: counted on')
  await store.recordLoginFailure(['account:x'], at + 1000, 900)
  t.match(await store.loginFailures(['account:x']), [{ failures: 1, windowStartedAt: at + 1000 }], 'after the window: a new count')
  await store.clearLoginFailures('account:x')
  t.same((await store.loginFailures(['account:x', 'address:1.2.3.4'])).map((c) => c.key), ['address:1.2.3.4'])
})

forEachStore(t, 'pruneExpired removes expired refresh tokens, revocations and idle failure counters', async (t, target) => {
  const store = await target.create(t)
  const at = now()
  await store.insertRefreshToken(refreshRow({ tokenHash: '1'.repeat(64), expiresAt: at - 10 }))
  await store.insertRefreshToken(refreshRow({ tokenHash: '2'.repeat(64), expiresAt: at + 600 }))
  await store.addRevocation({ kind: 'token', subject: 'old', version: 0, expiresAt: at - 10 })
  await store.addRevocation({ kind: 'token', subject: 'live', version: 0, expiresAt: at + 600 })
  await store.recordLoginFailure(['account:old'], at - 5000, 900)
  await store.recordLoginFailure(['account:new'], at, 900)
  t.same(await store.pruneExpired(at, at - 1000), { refreshTokens: 1, revocations: 1, loginFailures: 1 })
  t.ok(await store.findRefreshToken('2'.repeat(64)))
  t.same((await store.listRevocations({ afterId: 0 })).map((r) => r.subject), ['live'])
  t.same((await store.loginFailures(['account:old', 'account:new'])).map((c) => c.key), ['account:new'])
})

forEachStore(t, 'profile columns are written by createUser and returned by lookups', async (t, target) => {
  const store = await target.create(t, { profileColumns: [] })
  t.same((await store.createUser({ username: 'gina', password: PASSWORD })).profile, {})
})
