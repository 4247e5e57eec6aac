import knex, { type Knex } from 'knex'
import t, { type Test } from 'tap'
import type { AuthStore } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { binaryKeys, collateApiKeys, collateEmail, familiesSchema, initialSchema, PackagedMigrationSource, packagedMigrations } from '../lib/store/knex/migrations.js'
import { collateSecondFactors } from '../lib/store/knex/second-factors-schema.js'
import { whereExactly } from '../lib/store/knex/exact-match.js'
import { isUniqueViolationOf } from '../lib/store/knex/store-errors.js'
import { tableNames } from '../lib/store/knex/table-names.js'
import { exactRolesColumn, usernameOrder } from '../lib/store/knex/user-list.js'
import { databaseTargets, knexConfig, openDatabase, serverUrl, type DatabaseName, type TestDatabase } from './helpers/databases.js'
import { TcpProxy, throughProxy } from './helpers/tcp-proxy.js'

// What only the knex store has: its migrations, options, and its answer to a database outage.

const NOW = 1_700_000_000
const TABLES = ['users', 'refresh_families', 'refresh_tokens', 'revocations', 'login_attempts', 'account_tokens', 'api_keys', 'totp_factors', 'recovery_codes', 'passkeys', 'challenges', 'migrations', 'migrations_lock']

async function tablesPresent (database: TestDatabase): Promise<string[]> {
  const present: string[] = []
  for (const table of [...TABLES, 'login_failures']) {
    if (await database.knex.schema.hasTable(`${database.prefix}${table}`)) present.push(table)
  }
  return present
}

const user = (id: string, username: string): Parameters<AuthStore['users']['insert']>[0] => ({
  id, username, email: null, emailVerifiedAt: null, roles: ['a'], disabled: false, tokenVersion: 1, passwordHash: 'hash', createdAt: NOW, profile: {}
})

t.test('createKnexStore refuses bad options, naming the option', async (t) => {
  const { knex } = await openDatabase(t, 'sqlite')
  for (const options of [undefined, {}, { knex: 'knex' }]) {
    t.throws(() => createKnexStore(options as never), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /needs \{ knex \}/ })
  }
  for (const tablePrefix of ['', 'Auth_', '1auth_', 'auth-', 'a'.repeat(25), 3]) {
    t.throws(() => createKnexStore({ knex, tablePrefix: tablePrefix as string }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /tablePrefix must be/ }, JSON.stringify(tablePrefix))
  }
  for (const profileColumns of [['password_hash'], ['Display'], 'tenant', [1]]) {
    t.throws(() => createKnexStore({ knex, profileColumns: profileColumns as string[] }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /profileColumns must be/ }, JSON.stringify(profileColumns))
  }
  t.throws(() => createKnexStore({ knex, migrationLockTimeout: 'forever' }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /migrationLockTimeout must be/ })
  t.throws(() => createKnexStore({ knex, readTimeout: 0 }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /readTimeout must be/ })
})

t.test('the default table prefix is auth_', async (t) => {
  const { knex } = await openDatabase(t, 'sqlite')
  const store = createKnexStore({ knex })
  await store.migrate()
  t.ok(await knex.schema.hasTable('auth_refresh_families'))
  await store.rollback()
  t.notOk(await knex.schema.hasTable('auth_migrations'))
})

t.test('an update that cannot get SQLite\'s write lock is retried, then answered 503', async (t) => {
  const database = await openDatabase(t, 'sqlite')
  await createKnexStore({ knex: database.knex, tablePrefix: database.prefix }).migrate()
  // A second pool that does not wait for locks, while the first holds the write lock.
  const impatient = database.connect()
  await impatient.raw('PRAGMA busy_timeout = 0')
  const store = createKnexStore({ knex: impatient, tablePrefix: database.prefix })
  const holder = await database.knex.transaction()
  await holder(`${database.prefix}login_attempts`).insert({ key: 'held', count: 1, window_started_at: NOW, locked_until: 0, last_attempt_at: NOW })
  let decisions = 0
  const error = await store.attempts.update(['k'], () => { decisions++; return { write: [], result: null } }).catch((error: unknown) => error)
  await holder.rollback()
  t.match(error, { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503, cause: { code: 'SQLITE_BUSY' } })
  t.equal(decisions, 0, 'decide never ran without the lock')
  t.equal(await store.attempts.update(['k'], () => ({ write: [], result: 'after' })), 'after')
})

interface Outage { begin: () => Promise<void> }

/** A pool whose database can be taken away: a destroyed SQLite pool, or a cut TCP proxy. */
async function breakablePool (t: Test, database: TestDatabase): Promise<{ pool: Knex, outage: Outage }> {
  if (database.name === 'sqlite') {
    const pool = database.connect()
    return { pool, outage: { begin: async () => { await pool.destroy() } } }
  }
  const server = new URL(serverUrl(database.name))
  const proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port) })
  const pool = knex(knexConfig(database.name, throughProxy(serverUrl(database.name), proxy)))
  let cut = false
  t.teardown(async () => {
    await pool.destroy()
    if (!cut) await proxy.cut()
  })
  return { pool, outage: { begin: async () => { cut = true; await proxy.cut() } } }
}

/** A call of every method of every port. */
function everyMethod (store: AuthStore): Record<string, () => Promise<unknown>> {
  const token = { hash: 'a'.repeat(64), expiresAt: NOW + 60 }
  const counters = (): { write: [], result: null } => ({ write: [], result: null })
  const totp = { userId: 'u', encryptedSecret: 'v1.secret', createdAt: NOW, confirmedAt: null, lastUsedStep: 0 }
  const passkey = { id: 'cred', userId: 'u', name: 'n', publicKey: 'pk', counter: 0, transports: [], deviceType: 'singleDevice' as const, backedUp: false, createdAt: NOW, lastUsedAt: null }
  const apiKey = { id: 'k', userId: 'u', name: 'n', hash: token.hash, start: 'fta_live_abcdef', scopes: [], createdAt: NOW, expiresAt: null, lastUsedAt: null, revokedAt: null, createdBySession: null }
  return {
    'users.insert': async () => { await store.users.insert(user('00000000-0000-4000-8000-000000000002', 'bob')) },
    'users.findById': async () => await store.users.findById('00000000-0000-4000-8000-000000000001'),
    'users.findByUsername': async () => await store.users.findByUsername('alice'),
    'users.findByEmail': async () => await store.users.findByEmail('alice@example.com'),
    'users.list': async () => await store.users.list({ after: 'a', limit: 10, search: 'a' }),
    'users.update': async () => await store.users.update('00000000-0000-4000-8000-000000000001', { set: { disabled: true } }),
    'users.delete': async () => await store.users.delete('00000000-0000-4000-8000-000000000001', { now: NOW, expiresAt: NOW + 60 }),
    'families.create': async () => { await store.families.create({ id: 'f', userId: 'u', tokenVersion: 0, createdAt: NOW, expiresAt: NOW + 60, clientAddress: null, userAgent: null, authMethods: ['pwd'] }, token) },
    'families.findByToken': async () => await store.families.findByToken(token.hash),
    'families.rotate': async () => await store.families.rotate('f', token.hash, token, NOW),
    'families.revoke': async () => await store.families.revoke('f', NOW, NOW + 60),
    'families.listByUser': async () => await store.families.listByUser('u', NOW),
    'families.prune': async () => await store.families.prune(NOW),
    'revocations.append': async () => { await store.revocations.append({ kind: 'token', subject: 'j', version: 0, expiresAt: NOW + 60 }, NOW) },
    'revocations.list': async () => await store.revocations.list({ afterId: 0 }),
    'revocations.prune': async () => await store.revocations.prune(NOW),
    'attempts.update': async () => await store.attempts.update(['k'], counters),
    'attempts.prune': async () => await store.attempts.prune(NOW),
    'accountTokens.insert': async () => { await store.accountTokens.insert({ hash: token.hash, purpose: 'password_reset', userId: 'u', email: 'a@example.com', binding: 'b', createdAt: NOW, expiresAt: NOW + 60 }) },
    'accountTokens.find': async () => await store.accountTokens.find(token.hash, 'password_reset', NOW),
    'accountTokens.consume': async () => await store.accountTokens.consume(token.hash, 'password_reset', NOW),
    'accountTokens.deleteByUser': async () => await store.accountTokens.deleteByUser('u', 'password_reset'),
    'accountTokens.prune': async () => await store.accountTokens.prune(NOW),
    'apiKeys.insert': async () => await store.apiKeys.insert(apiKey, 5),
    'apiKeys.findByHash': async () => await store.apiKeys.findByHash(apiKey.hash),
    'apiKeys.listByUser': async () => await store.apiKeys.listByUser('u'),
    'apiKeys.rename': async () => await store.apiKeys.rename('u', apiKey.id, 'renamed'),
    'apiKeys.revoke': async () => await store.apiKeys.revoke('u', apiKey.id, NOW, NOW + 60),
    'apiKeys.revokeAllByUser': async () => await store.apiKeys.revokeAllByUser('u', NOW, NOW + 60),
    'apiKeys.recordUse': async () => { await store.apiKeys.recordUse([{ id: apiKey.id, lastUsedAt: NOW }]) },
    'apiKeys.prune': async () => await store.apiKeys.prune(NOW),
    'totp.stage': async () => await store.totp.stage(totp),
    'totp.find': async () => await store.totp.find('u'),
    'totp.confirm': async () => await store.totp.confirm('u', totp.encryptedSecret, 1, NOW),
    'totp.useStep': async () => await store.totp.useStep('u', totp.encryptedSecret, 2),
    'totp.remove': async () => await store.totp.remove('u'),
    'recoveryCodes.replace': async () => { await store.recoveryCodes.replace('u', [token.hash], NOW) },
    'recoveryCodes.use': async () => await store.recoveryCodes.use('u', token.hash, NOW),
    'recoveryCodes.countUnused': async () => await store.recoveryCodes.countUnused('u'),
    'recoveryCodes.removeAll': async () => await store.recoveryCodes.removeAll('u'),
    'passkeys.insert': async () => await store.passkeys.insert(passkey, 5),
    'passkeys.findById': async () => await store.passkeys.findById(passkey.id),
    'passkeys.listByUser': async () => await store.passkeys.listByUser('u'),
    'passkeys.rename': async () => await store.passkeys.rename('u', passkey.id, 'renamed'),
    'passkeys.remove': async () => await store.passkeys.remove('u', passkey.id),
    'passkeys.recordUse': async () => await store.passkeys.recordUse(passkey.id, { previousCounter: 0, counter: 1, backedUp: false, now: NOW }),
    'challenges.insert': async () => { await store.challenges.insert({ hash: token.hash, purpose: 'mfa_login', userId: 'u', binding: 'b', createdAt: NOW, expiresAt: NOW + 60 }) },
    'challenges.find': async () => await store.challenges.find(token.hash, 'mfa_login', NOW),
    'challenges.consume': async () => await store.challenges.consume(token.hash, 'mfa_login', NOW),
    'challenges.prune': async () => await store.challenges.prune(NOW),
    migrate: async () => { await store.migrate() }
  }
}

async function migrateToFirstSchema (database: TestDatabase): Promise<void> {
  const tables = tableNames(database.prefix)
  await database.knex.migrate.latest({ migrationSource: new PackagedMigrationSource([initialSchema(tables)]), tableName: tables.migrations })
}

/** The schema before accounts: 0001 to 0003. */
async function migrateToBinaryKeys (database: TestDatabase): Promise<void> {
  const tables = tableNames(database.prefix)
  await database.knex.migrate.latest({ migrationSource: new PackagedMigrationSource([initialSchema(tables), familiesSchema(tables), binaryKeys(tables)]), tableName: tables.migrations })
}

/** Inserts a user row as the 0003 schema has them. */
async function insertUserRow (database: TestDatabase, id: string, username: string, email: string | null): Promise<void> {
  await database.knex(`${database.prefix}users`).insert({ id, username, email, roles: '[]', password_hash: 'hash', disabled: false, token_version: 0, created_at: NOW, updated_at: NOW })
}

const userId = (index: number): string => `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`

for (const target of databaseTargets()) {
  t.test(`knex store migrations on ${target.name}`, { skip: target.skip }, async (t) => {
    const name: DatabaseName = target.name

    t.test('migrate twice creates the tables once; rollback removes every table, knex bookkeeping included', async (t) => {
      const database = await openDatabase(t, name)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      await store.migrate()
      t.same(await tablesPresent(database), TABLES)
      t.same((await database.knex(`${database.prefix}migrations`).orderBy('id')).map((row: { name: string }) => row.name), ['0001_initial_schema', '0002_refresh_families_and_login_attempts', '0003_binary_usernames_and_keys', '0004_accounts', '0005_api_keys', '0006_second_factors'])
      await store.rollback()
      t.same(await tablesPresent(database), [])
      await store.migrate()
      t.same(await tablesPresent(database), TABLES, 'and migrate builds them again')
    })

    t.test('migrate upgrades a database at 0001 with rows: users and revocations kept, old sessions and counters dropped', async (t) => {
      const database = await openDatabase(t, name)
      await migrateToFirstSchema(database)
      const id = '00000000-0000-4000-8000-000000000001'
      await database.knex(`${database.prefix}users`).insert({ id, username: 'alice', email: null, roles: '["a"]', password_hash: 'hash', disabled: false, token_version: 1, created_at: NOW, updated_at: NOW })
      await database.knex(`${database.prefix}revocations`).insert({ kind: 'user', subject: id, version: 1, expires_at: NOW + 60, created_at: NOW })
      await database.knex(`${database.prefix}refresh_tokens`).insert({ token_hash: 'a'.repeat(64), user_id: id, family_id: 'f', token_version: 1, issued_at: NOW, expires_at: NOW + 60, session_expires_at: NOW + 60 })
      await database.knex(`${database.prefix}login_failures`).insert({ key: 'account:alice', failures: 2, window_started_at: NOW, last_failure_at: NOW })
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      t.same(await tablesPresent(database), TABLES)
      t.same(await store.users.findByUsername('alice'), user(id, 'alice'))
      t.match(await store.revocations.list({ afterId: 0 }), [{ kind: 'user', subject: id, version: 1, expiresAt: NOW + 60, createdAt: NOW }])
      t.equal(await store.families.findByToken('a'.repeat(64)), undefined)
      await store.families.create({ id: 'f2', userId: id, tokenVersion: 1, createdAt: NOW, expiresAt: NOW + 60, clientAddress: null, userAgent: null, authMethods: ['pwd'] }, { hash: 'b'.repeat(64), expiresAt: NOW + 60 })
      t.equal(await store.families.rotate('f2', 'b'.repeat(64), { hash: 'c'.repeat(64), expiresAt: NOW + 60 }, NOW), true)
      await store.rollback()
      t.same(await tablesPresent(database), [])
    })

    t.test('migrate upgrades a database at 0003: stored emails are lower-cased (NFKC too) and unique from then on, sessions get a client, account tokens a table', async (t) => {
      const database = await openDatabase(t, name)
      await migrateToBinaryKeys(database)
      // The last would grow past the column's 254 characters (each ligature is three letters in NFKC): it is left as it was.
      const tooLongOnceSpelled = `${'ﬃ'.repeat(100)}@example.com`
      const emails = ['Alice@Example.COM', 'bob@example.com', 'Ｃａｒｏｌ@Example.com', null, null, tooLongOnceSpelled]
      for (const [index, email] of emails.entries()) await insertUserRow(database, userId(index), `user${index}`, email)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      t.same(await tablesPresent(database), TABLES)
      const stored = await database.knex(`${database.prefix}users`).orderBy('id').select('email')
      t.same(stored.map((row: { email: string | null }) => row.email), ['alice@example.com', 'bob@example.com', 'carol@example.com', null, null, tooLongOnceSpelled])
      t.equal((await store.users.findByEmail('alice@example.com'))?.id, userId(0))
      t.same((await store.users.findById(userId(1)))?.emailVerifiedAt, null)
      await t.rejects(store.users.insert({ ...user(userId(9), 'dave'), email: 'carol@example.com' }), { code: 'FST_TOKEN_AUTH_EMAIL_TAKEN' })
      await store.users.insert({ ...user(userId(9), 'dave'), email: null })
      await store.families.create({ id: 'f', userId: userId(0), tokenVersion: 0, createdAt: NOW, expiresAt: NOW + 60, clientAddress: '192.0.2.1', userAgent: 'curl/8', authMethods: ['pwd'] }, { hash: 'a'.repeat(64), expiresAt: NOW + 60 })
      t.match(await store.families.findByToken('a'.repeat(64)), { family: { clientAddress: '192.0.2.1', userAgent: 'curl/8' } })
      await store.accountTokens.insert({ hash: 'b'.repeat(64), purpose: 'email_verification', userId: userId(0), email: 'alice@example.com', binding: 'c'.repeat(64), createdAt: NOW, expiresAt: NOW + 60 })
      t.equal((await store.accountTokens.consume('b'.repeat(64), 'email_verification', NOW))?.userId, userId(0))
    })

    t.test('migrate refuses a database at 0003 where two users\' emails differ only in case, naming the users and the fix, and changes nothing', async (t) => {
      const database = await openDatabase(t, name)
      await migrateToBinaryKeys(database)
      const emails = ['Alice@Example.com', 'alice@example.com', 'ALICE@EXAMPLE.COM', 'Bob@Example.com', 'bob@example.com', 'Carol@Example.com']
      for (const [index, email] of emails.entries()) await insertUserRow(database, userId(index), `user${index}`, email)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      const error = await store.migrate().catch((error: unknown) => error)
      t.match(error, {
        code: 'FST_TOKEN_AUTH_MIGRATION_BLOCKED',
        message: /0004_accounts makes email addresses unique regardless of case, and 2 address\(es\) belong to several users once lower-cased \(users 0{8}-0000-4000-8000-000000000000, 0{8}-0000-4000-8000-000000000001, 0{8}-0000-4000-8000-000000000002; 0{8}-0000-4000-8000-000000000003, 0{8}-0000-4000-8000-000000000004\)\. Give each of those users an address of their own, or null, in the t[0-9a-f]+_users table, then migrate again$/
      })
      t.notMatch((error as Error).message, /example/i, 'addresses stay out of the message (it is logged)')
      const stored = await database.knex(`${database.prefix}users`).orderBy('id').select('email')
      t.same(stored.map((row: { email: string }) => row.email), emails, 'no email was changed')
      t.notOk(await database.knex.schema.hasTable(`${database.prefix}account_tokens`))
      t.notOk(await database.knex.schema.hasColumn(`${database.prefix}users`, 'email_verified_at'))
      for (const id of [1, 2, 4]) await database.knex(`${database.prefix}users`).where({ id: userId(id) }).update({ email: null })
      await store.migrate()
      t.equal((await store.users.findByEmail('carol@example.com'))?.id, userId(5), 'once fixed, migrate goes on')
    })

    t.test('more than three shared addresses are named three and an ellipsis', async (t) => {
      const database = await openDatabase(t, name)
      await migrateToBinaryKeys(database)
      // Four pairs: u0@ and U0@, u1@ and U1@, …
      for (let index = 0; index < 8; index++) await insertUserRow(database, userId(index), `user${index}`, `${index % 2 === 0 ? 'u' : 'U'}${index >> 1}@example.com`)
      const error = await createKnexStore({ knex: database.knex, tablePrefix: database.prefix }).migrate().catch((error: unknown) => error)
      t.match(error, { code: 'FST_TOKEN_AUTH_MIGRATION_BLOCKED', message: /4 address\(es\) .*000000000005; …\)\. Give/ })
    })

    t.test('0004 rolls back to the 0003 schema, keeping users (their emails lower-cased), and migrates up again', async (t) => {
      const database = await openDatabase(t, name)
      const tables = tableNames(database.prefix)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      await store.users.insert({ ...user(userId(1), 'alice'), email: 'alice@example.com', emailVerifiedAt: NOW })
      await store.families.create({ id: 'f', userId: userId(1), tokenVersion: 1, createdAt: NOW, expiresAt: NOW + 60, clientAddress: '192.0.2.1', userAgent: null, authMethods: ['pwd'] }, { hash: 'a'.repeat(64), expiresAt: NOW + 60 })
      // 0006, 0005, then 0004.
      for (let step = 0; step < 3; step++) await database.knex.migrate.down({ migrationSource: new PackagedMigrationSource(packagedMigrations(tables)), tableName: tables.migrations })
      t.notOk(await database.knex.schema.hasTable(tables.accountTokens))
      t.notOk(await database.knex.schema.hasColumn(tables.users, 'email_verified_at'))
      t.notOk(await database.knex.schema.hasColumn(tables.refreshFamilies, 'client_address'))
      t.notOk(await database.knex.schema.hasColumn(tables.refreshFamilies, 'user_agent'))
      await insertUserRow(database, userId(2), 'bob', 'alice@example.com')
      t.equal((await database.knex(tables.users).where({ email: 'alice@example.com' })).length, 2, 'emails are no longer unique')
      await database.knex(tables.users).where({ id: userId(2) }).delete()
      t.equal((await database.knex(tables.refreshFamilies).where({ id: 'f' })).length, 1, 'sessions kept')
      await store.migrate()
      t.same(await store.users.findByEmail('alice@example.com'), { ...user(userId(1), 'alice'), email: 'alice@example.com' })
      t.match(await store.families.findByToken('a'.repeat(64)), { family: { id: 'f', clientAddress: null, userAgent: null } })
    })

    t.test('0005 rolls back to the 0004 schema, dropping API keys and keeping the rest, and migrates up again', async (t) => {
      const database = await openDatabase(t, name)
      const tables = tableNames(database.prefix)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      const alice = user(userId(1), 'alice')
      await store.users.insert(alice)
      const key = { id: 'k1', userId: alice.id, name: 'ci', hash: 'a'.repeat(64), start: 'fta_live_abcdef', scopes: ['read'], createdAt: NOW, expiresAt: null, lastUsedAt: null, revokedAt: null, createdBySession: null }
      t.equal(await store.apiKeys.insert(key, 5), true)
      // 0006, then 0005.
      for (let step = 0; step < 2; step++) await database.knex.migrate.down({ migrationSource: new PackagedMigrationSource(packagedMigrations(tables)), tableName: tables.migrations })
      t.notOk(await database.knex.schema.hasTable(tables.apiKeys))
      t.same(await store.users.findById(alice.id), alice, 'users kept')
      await store.migrate()
      t.equal(await store.apiKeys.findByHash(key.hash), undefined, 'keys went with the table')
      t.equal(await store.apiKeys.insert(key, 5), true)
      t.same(await store.apiKeys.findByHash(key.hash), { key, user: alice })
    })

    t.test('0006 rolls back to the 0005 schema, dropping second factors and how sessions began, and migrates up again: sessions from before count as password sign-ins', async (t) => {
      const database = await openDatabase(t, name)
      const tables = tableNames(database.prefix)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      const alice = user(userId(1), 'alice')
      await store.users.insert(alice)
      await store.families.create({ id: 'f', userId: alice.id, tokenVersion: 1, createdAt: NOW, expiresAt: NOW + 60, clientAddress: null, userAgent: null, authMethods: ['pwd', 'otp', 'mfa'] }, { hash: 'a'.repeat(64), expiresAt: NOW + 60 })
      t.equal(await store.totp.stage({ userId: alice.id, encryptedSecret: 'v1.s', createdAt: NOW, confirmedAt: null, lastUsedStep: 0 }), true)
      await store.recoveryCodes.replace(alice.id, ['b'.repeat(64)], NOW)
      const passkey = { id: 'cred', userId: alice.id, name: 'laptop', publicKey: 'pk', counter: 0, transports: ['internal'], deviceType: 'multiDevice' as const, backedUp: true, createdAt: NOW, lastUsedAt: null }
      t.equal(await store.passkeys.insert(passkey, 5), true)
      await store.challenges.insert({ hash: 'c'.repeat(64), purpose: 'mfa_login', userId: alice.id, binding: 'b', createdAt: NOW, expiresAt: NOW + 60 })
      await database.knex.migrate.down({ migrationSource: new PackagedMigrationSource(packagedMigrations(tables)), tableName: tables.migrations })
      for (const table of [tables.totpFactors, tables.recoveryCodes, tables.passkeys, tables.challenges]) t.notOk(await database.knex.schema.hasTable(table), table)
      t.notOk(await database.knex.schema.hasColumn(tables.refreshFamilies, 'auth_methods'))
      t.same(await store.users.findById(alice.id), alice, 'users kept')
      t.equal((await database.knex(tables.refreshFamilies).where({ id: 'f' })).length, 1, 'sessions kept')
      await store.migrate()
      t.match(await store.families.findByToken('a'.repeat(64)), { family: { id: 'f', authMethods: ['pwd'] } })
      t.equal(await store.totp.find(alice.id), undefined, 'factors went with their tables')
      t.equal(await store.recoveryCodes.countUnused(alice.id), 0)
      t.equal(await store.passkeys.findById(passkey.id), undefined)
      t.equal(await store.challenges.find('c'.repeat(64), 'mfa_login', NOW), undefined)
      t.equal(await store.passkeys.insert(passkey, 5), true)
      t.same(await store.passkeys.findById(passkey.id), { passkey, user: alice })
    })

    t.test('three pools migrating one fresh database at once all succeed', async (t) => {
      const database = await openDatabase(t, name)
      const stores = [database.knex, database.connect(), database.connect()].map((pool) => createKnexStore({ knex: pool, tablePrefix: database.prefix }))
      await Promise.all(stores.map(async (store) => { await store.migrate() }))
      t.same(await tablesPresent(database), TABLES)
      t.equal((await database.knex(`${database.prefix}migrations`)).length, 6)
      await stores[2].users.insert(user('00000000-0000-4000-8000-000000000001', 'alice'))
      t.ok(await stores[0].users.findByUsername('alice'))
    })

    t.test('migrate waits while another instance holds the migration lock, and gives up with a 503 after migrationLockTimeout', async (t) => {
      const database = await openDatabase(t, name)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      const lock = async (isLocked: number): Promise<void> => { await database.knex(`${database.prefix}migrations_lock`).update({ is_locked: isLocked }) }
      await database.knex(`${database.prefix}migrations`).where({ name: '0002_refresh_families_and_login_attempts' }).delete()
      for (const table of ['login_attempts', 'refresh_tokens', 'refresh_families']) await database.knex.schema.dropTable(`${database.prefix}${table}`)
      await lock(1)
      const impatient = createKnexStore({ knex: database.knex, tablePrefix: database.prefix, migrationLockTimeout: '300ms' })
      const error = await impatient.migrate().catch((error: unknown) => error)
      t.match(error, { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503, cause: { message: /is already locked/ } })
      const release = async (): Promise<void> => {
        await new Promise((resolve) => setTimeout(resolve, 600))
        await lock(0)
      }
      await Promise.all([store.migrate(), release()])
      t.same(await tablesPresent(database), TABLES, 'the waiting migration ran once the lock was released')
    })

    t.test('a migration failure that is not a race is answered at once, with the database error as cause', async (t) => {
      const database = await openDatabase(t, name)
      await database.knex.schema.createTable(`${database.prefix}users`, (table) => { table.string('id') })
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix })
      t.match(await store.migrate().catch((error: unknown) => error), { statusCode: 503, cause: { message: /users/ } })
    })

    t.test('profile columns the application added are written, changed and read', async (t) => {
      const database = await openDatabase(t, name)
      const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix, profileColumns: ['display_name', 'tenant_id'] })
      await store.migrate()
      await database.knex.schema.alterTable(`${database.prefix}users`, (table) => {
        table.string('display_name').nullable()
        table.string('tenant_id').nullable()
      })
      const alice = { ...user('00000000-0000-4000-8000-000000000001', 'alice'), profile: { display_name: 'Alice A.', nickname: 'not a column' } }
      await store.users.insert(alice)
      t.same((await store.users.findById(alice.id))?.profile, { display_name: 'Alice A.', tenant_id: null })
      t.same((await store.users.update(alice.id, { set: { profile: { tenant_id: 't1' } } }))?.profile, { display_name: 'Alice A.', tenant_id: 't1' })
      await database.knex.schema.alterTable(`${database.prefix}users`, (table) => { table.dropColumn('display_name'); table.dropColumn('tenant_id') })
    })

    t.test('every method of every port answers 503 when the database is gone, with the driver error as cause', async (t) => {
      const database = await openDatabase(t, name)
      await createKnexStore({ knex: database.knex, tablePrefix: database.prefix }).migrate()
      const { pool, outage } = await breakablePool(t, database)
      const store = createKnexStore({ knex: pool, tablePrefix: database.prefix })
      t.equal(await store.users.findByUsername('alice'), undefined, 'reachable before')
      await outage.begin()
      for (const [method, call] of Object.entries(everyMethod(store))) {
        const error = await call().then(() => undefined, (error: unknown) => error)
        t.match(error, { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': '2' } }, method)
        t.ok((error as { cause?: unknown }).cause instanceof Error, `${method}: cause`)
      }
    })
  })
}

t.test('a revocation read on a connection that hangs is given up after readTimeout, and the pool recovers', { skip: databaseTargets()[1].skip }, async (t) => {
  const database = await openDatabase(t, 'postgres')
  await createKnexStore({ knex: database.knex, tablePrefix: database.prefix }).migrate()
  const server = new URL(serverUrl('postgres'))
  const proxy = await TcpProxy.start({ host: server.hostname, port: Number(server.port) })
  // knex's own acquire timeout far away: only readTimeout can end the hung read.
  const pool = knex({ ...knexConfig('postgres', throughProxy(serverUrl('postgres'), proxy)), acquireConnectionTimeout: 60_000 })
  t.teardown(async () => { await pool.destroy(); await proxy.cut() })
  const store = createKnexStore({ knex: pool, tablePrefix: database.prefix, readTimeout: '200ms' })
  t.same(await store.revocations.list({ afterId: 0 }), [], 'reachable before')
  proxy.blackHole()
  await t.rejects(store.revocations.list({ afterId: 0 }), { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503 })
  await proxy.restore()
  t.same(await store.revocations.list({ afterId: 0 }), [], 'a new connection answers: the hung one was discarded, not returned to the pool')
})

t.test('on MySQL and MariaDB, usernames and throttle keys are switched to a byte-for-byte collation, and back on rollback', async (t) => {
  const tables = tableNames('auth_')
  const statements: string[] = []
  const mysql = { client: { config: { client: 'mysql2' } }, raw: async (sql: string, bindings: string[]) => { statements.push(`${sql} ${bindings.join(',')}`) } } as unknown as Knex
  const migration = binaryKeys(tables)
  await migration.up(mysql)
  t.same(statements, [
    'ALTER TABLE ?? MODIFY ?? VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL auth_users,username',
    'ALTER TABLE ?? MODIFY ?? VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL auth_login_attempts,key'
  ])
  statements.length = 0
  await migration.down(mysql)
  t.match(statements, [/VARCHAR\(254\) CHARACTER SET utf8mb4 NOT NULL/, /VARCHAR\(200\) CHARACTER SET utf8mb4 NOT NULL/])
})

t.test('on MySQL and MariaDB, 0004 switches emails to a byte-for-byte collation, still nullable, and back on rollback', async (t) => {
  const statements: string[] = []
  const mysql = { client: { config: { client: 'mysql2' } }, raw: async (sql: string, bindings: string[]) => { statements.push(`${sql} ${bindings.join(',')}`) } } as unknown as Knex
  await collateEmail(mysql, 'auth_users', 'utf8mb4_bin')
  await collateEmail(mysql, 'auth_users', undefined)
  t.same(statements, [
    'ALTER TABLE ?? MODIFY ?? VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL auth_users,email',
    'ALTER TABLE ?? MODIFY ?? VARCHAR(254) CHARACTER SET utf8mb4 NULL auth_users,email'
  ])
})

t.test('on MySQL and MariaDB, 0005 makes API key ids compare byte for byte and names utf8mb4', async (t) => {
  const statements: string[] = []
  const mysql = { client: { config: { client: 'mysql2' } }, raw: async (sql: string, bindings: string[]) => { statements.push(`${sql} ${bindings.join(',')}`) } } as unknown as Knex
  await collateApiKeys(mysql, 'auth_api_keys')
  t.same(statements, ['ALTER TABLE ?? MODIFY ?? VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, MODIFY ?? VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL auth_api_keys,id,name'])
})

t.test('on MySQL and MariaDB, 0006 makes TOTP secrets compare byte for byte, passkey names and challenge bindings utf8mb4', async (t) => {
  const statements: string[] = []
  const mysql = { client: { config: { client: 'mysql2' } }, raw: async (sql: string, bindings: string[]) => { statements.push(`${sql} ${bindings.join(',')}`) } } as unknown as Knex
  await collateSecondFactors(mysql, tableNames('auth_'))
  t.same(statements, [
    'ALTER TABLE ?? MODIFY ?? VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL auth_totp_factors,encrypted_secret',
    'ALTER TABLE ?? MODIFY ?? VARCHAR(100) CHARACTER SET utf8mb4 NOT NULL auth_passkeys,name',
    'ALTER TABLE ?? MODIFY ?? VARCHAR(200) CHARACTER SET utf8mb4 NOT NULL auth_challenges,binding'
  ])
})

t.test('an exact match adds a BINARY comparison on MySQL only, beside the one the index serves', async (t) => {
  for (const [client, sql] of [
    ['mysql2', "select * from `api_keys` where `id` = 'k1' and BINARY `id` = 'k1'"],
    ['pg', 'select * from "api_keys" where "id" = \'k1\''],
    ['sqlite3', "select * from `api_keys` where `id` = 'k1'"]
  ]) {
    const builder = knex({ client, useNullAsDefault: true })
    t.teardown(async () => { await builder.destroy() })
    t.equal(whereExactly(builder('api_keys'), 'id', 'k1').toString(), sql, client)
  }
})

t.test('users are listed in byte order (COLLATE "C" on PostgreSQL, the column\'s own order elsewhere) and roles compared byte for byte (BINARY on MySQL)', async (t) => {
  const on = (dialect: string): Knex => ({ client: { dialect } }) as unknown as Knex
  t.same(usernameOrder(on('postgresql')), { collate: 'COLLATE "C"' })
  for (const dialect of ['sqlite3', 'mysql', 'better-sqlite3']) t.same(usernameOrder(on(dialect)), { collate: '' }, dialect)
  t.equal(exactRolesColumn('mysql'), 'BINARY ??', 'roles compare byte for byte on MySQL, whose default collation ignores case')
  for (const dialect of ['sqlite3', 'postgresql']) t.equal(exactRolesColumn(dialect), '??', dialect)
})

t.test('a unique violation is told apart by the index each database names in it', async (t) => {
  const email = { table: 'auth_users', column: 'email', index: 'auth_users_email_unique' }
  const violations = {
    postgres: Object.assign(new Error('duplicate key value violates unique constraint "auth_users_email_unique"'), { code: '23505', constraint: 'auth_users_email_unique' }),
    mariadb: Object.assign(new Error("Duplicate entry 'a@example.com' for key 'auth_users_email_unique'"), { code: 'ER_DUP_ENTRY' }),
    mysql8: Object.assign(new Error("Duplicate entry 'it''s for key ''x''@example.com' for key 'auth_users.auth_users_email_unique'"), { code: 'ER_DUP_ENTRY' }),
    sqlite: Object.assign(new Error('insert into `auth_users` … - SQLITE_CONSTRAINT: UNIQUE constraint failed: auth_users.email'), { code: 'SQLITE_CONSTRAINT' })
  }
  for (const [database, error] of Object.entries(violations)) t.ok(isUniqueViolationOf(error, email), database)
  const others = {
    'postgres, the username index': Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'auth_users_username_unique' }),
    'mariadb, the username index': Object.assign(new Error("Duplicate entry 'a' for key 'auth_users_username_unique'"), { code: 'ER_DUP_ENTRY' }),
    'sqlite, the username column': Object.assign(new Error('SQLITE_CONSTRAINT: UNIQUE constraint failed: auth_users.username'), { code: 'SQLITE_CONSTRAINT' }),
    'sqlite, a NOT NULL constraint': Object.assign(new Error('SQLITE_CONSTRAINT: NOT NULL constraint failed: auth_users.email'), { code: 'SQLITE_CONSTRAINT' }),
    'a connection error': Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    'not an error': null
  }
  for (const [what, error] of Object.entries(others)) t.notOk(isUniqueViolationOf(error, email), what)
})
