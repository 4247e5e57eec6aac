import t from 'tap'
import { createKnexUserStore } from 'fastify-token-auth'
import { PASSWORD } from './helpers/app.js'
import { databaseTargets, openDatabase } from './helpers/databases.js'

// What only the knex store has: migrations, table prefixes, profile columns, its own failures.

t.test('createKnexUserStore refuses a missing knex, a bad prefix and bad profile columns', async (t) => {
  const { knex } = await openDatabase(t, 'sqlite')
  t.throws(() => createKnexUserStore({} as never), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /needs \{ knex \}/ })
  t.throws(() => createKnexUserStore(undefined as never), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
  for (const tablePrefix of ['', 'Auth_', '1auth_', 'auth-', 'a'.repeat(25)]) {
    t.throws(() => createKnexUserStore({ knex, tablePrefix }), { message: /tablePrefix must be/ }, JSON.stringify(tablePrefix))
  }
  for (const profileColumns of [['password_hash'], ['Display'], 'tenant', [1]]) {
    t.throws(() => createKnexUserStore({ knex, profileColumns: profileColumns as string[] }), { message: /profileColumns must be/ }, JSON.stringify(profileColumns))
  }
  t.throws(() => createKnexUserStore({ knex, minPasswordLength: 0 }), { message: /minPasswordLength must be an integer from 1 to 64/ })
  t.throws(() => createKnexUserStore({ knex, bcryptCost: 9 }), { message: /bcryptCost must be an integer from 10 to 20/ })
  t.throws(() => createKnexUserStore({ knex, migrationLockTimeout: 'forever' }), { message: /migrationLockTimeout must be/ })
})

t.test('the default table prefix is auth_', async (t) => {
  const { knex } = await openDatabase(t, 'sqlite')
  const store = createKnexUserStore({ knex })
  await store.migrate()
  t.ok(await knex.schema.hasTable('auth_users'))
  t.ok(await knex.schema.hasTable('auth_migrations'))
})

for (const target of databaseTargets()) {
  t.test(`knex store on ${target.name}`, { skip: target.skip }, async (t) => {
    t.test('migrate is idempotent and rollback removes the tables', async (t) => {
      const database = await openDatabase(t, target.name)
      const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix })
      await store.migrate()
      await store.migrate()
      for (const table of ['users', 'refresh_tokens', 'revocations', 'login_failures']) {
        t.ok(await database.knex.schema.hasTable(`${database.prefix}${table}`), table)
      }
      await store.rollback()
      t.notOk(await database.knex.schema.hasTable(`${database.prefix}users`))
    })

    t.test('migrate waits while another instance holds the migration lock', async (t) => {
      const database = await openDatabase(t, target.name)
      const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix, bcryptCost: 10 })
      await store.migrate()
      await store.rollback()
      await database.knex(`${database.prefix}migrations_lock`).update({ is_locked: 1 })
      const release = async (): Promise<void> => {
        await new Promise((resolve) => setTimeout(resolve, 600))
        await database.knex(`${database.prefix}migrations_lock`).update({ is_locked: 0 })
      }
      await Promise.all([store.migrate(), release()])
      t.ok(await store.createUser({ username: 'alice', password: PASSWORD }), 'the tables exist once the lock was released')
    })

    t.test('migrate gives up when the lock is never released', async (t) => {
      const database = await openDatabase(t, target.name)
      const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix, migrationLockTimeout: '600ms' })
      await store.migrate()
      await store.rollback()
      await database.knex(`${database.prefix}migrations_lock`).update({ is_locked: 1 })
      await t.rejects(store.migrate(), /is already locked/)
    })

    t.test('two stores migrating one fresh database at once both succeed', async (t) => {
      const database = await openDatabase(t, target.name)
      const stores = [database.knex, database.connect()].map((knex) => createKnexUserStore({ knex, tablePrefix: database.prefix, bcryptCost: 10 }))
      await Promise.all(stores.map(async (store) => { await store.migrate() }))
      t.ok(await stores[1].createUser({ username: 'alice', password: PASSWORD }))
    })

    t.test('a migration failure that is not a race is reported at once', async (t) => {
      const database = await openDatabase(t, target.name)
      await database.knex.schema.createTable(`${database.prefix}users`, (table) => { table.string('id') })
      const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix })
      await t.rejects(store.migrate(), /users/)
      await database.knex.schema.dropTable(`${database.prefix}users`)
    })

    t.test('profile columns the application added are written and read', async (t) => {
      const database = await openDatabase(t, target.name)
      const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix, bcryptCost: 10, profileColumns: ['display_name', 'tenant_id'] })
      await store.migrate()
      await database.knex.schema.alterTable(`${database.prefix}users`, (table) => {
        table.string('display_name').nullable()
        table.string('tenant_id').nullable()
      })
      const created = await store.createUser({ username: 'alice', password: PASSWORD, profile: { display_name: 'Alice A.' } })
      t.same(created.profile, { display_name: 'Alice A.', tenant_id: null })
      t.same((await store.findUserByUsername('alice'))?.profile, { display_name: 'Alice A.', tenant_id: null })
      await database.knex.schema.alterTable(`${database.prefix}users`, (table) => { table.dropColumn('display_name'); table.dropColumn('tenant_id') })
    })

    t.test('a store used before migrate answers 503 with the database error as cause', async (t) => {
      const database = await openDatabase(t, target.name)
      const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix, bcryptCost: 10 })
      const error = await store.createUser({ username: 'alice', password: PASSWORD }).catch((error: unknown) => error)
      t.match(error, { code: 'FST_TOKEN_AUTH_STORE_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': '2' } })
      t.ok((error as { cause?: unknown }).cause instanceof Error)
    })
  })
}
