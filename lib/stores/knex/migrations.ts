import type { Knex } from 'knex'
import type { TableNames } from './table-names.js'

interface PackagedMigration {
  name: string
  up: (knex: Knex) => Promise<void>
  down: (knex: Knex) => Promise<void>
}

// Times are whole seconds since the epoch in BIGINT columns: one meaning on every
// database, no time-zone conversions. Ids of users are UUID strings made by the store.
function initialSchema (tables: TableNames): PackagedMigration {
  return {
    name: '0001_initial_schema',
    async up (knex) {
      await knex.schema.createTable(tables.users, (table) => {
        table.string('id', 36).primary()
        table.string('username', 254).notNullable().unique()
        table.string('email', 254).nullable()
        table.text('roles').notNullable()
        table.string('password_hash', 100).notNullable()
        table.boolean('disabled').notNullable().defaultTo(false)
        table.integer('token_version').notNullable().defaultTo(0)
        table.bigInteger('created_at').notNullable()
        table.bigInteger('updated_at').notNullable()
      })
      await knex.schema.createTable(tables.refreshTokens, (table) => {
        table.increments('id').primary()
        table.string('token_hash', 64).notNullable().unique()
        table.string('user_id', 36).notNullable().index()
        table.string('family_id', 36).notNullable().index()
        table.integer('token_version').notNullable()
        table.bigInteger('issued_at').notNullable()
        table.bigInteger('expires_at').notNullable().index()
        table.bigInteger('session_expires_at').notNullable()
        table.bigInteger('used_at').nullable()
        table.bigInteger('revoked_at').nullable()
      })
      await knex.schema.createTable(tables.revocations, (table) => {
        table.increments('id').primary()
        table.string('kind', 16).notNullable()
        table.string('subject', 255).notNullable()
        table.integer('version').notNullable().defaultTo(0)
        table.bigInteger('expires_at').notNullable().index()
        table.bigInteger('created_at').notNullable()
      })
      await knex.schema.createTable(tables.loginFailures, (table) => {
        table.string('key', 300).primary()
        table.integer('failures').notNullable()
        table.bigInteger('window_started_at').notNullable()
        table.bigInteger('last_failure_at').notNullable().index()
      })
    },
    async down (knex) {
      for (const table of [tables.loginFailures, tables.revocations, tables.refreshTokens, tables.users]) {
        await knex.schema.dropTableIfExists(table)
      }
    }
  }
}

/**
 * Creates knex's migration lock table with its single row before knex does. knex checks
 * for the row and inserts it when missing, which two instances starting at once can
 * both do: two rows, and from then on knex can never take the lock. Inserting the row
 * with a fixed primary key, ignoring a conflict, makes that race harmless.
 */
export async function ensureMigrationLock (knex: Knex, tables: TableNames): Promise<void> {
  const lockTable = `${tables.migrations}_lock`
  if (!await knex.schema.hasTable(lockTable)) {
    // The same shape knex gives it; "already exists" from a concurrent creator is retried by the caller.
    await knex.schema.createTable(lockTable, (table) => {
      table.increments('index').primary()
      table.integer('is_locked')
    })
  }
  await knex(lockTable).insert({ index: 1, is_locked: 0 }).onConflict('index').ignore()
}

/** The migrations that ship inside the package, as a knex MigrationSource. */
export class PackagedMigrationSource implements Knex.MigrationSource<PackagedMigration> {
  readonly #migrations: PackagedMigration[]

  constructor (tables: TableNames) {
    this.#migrations = [initialSchema(tables)]
  }

  async getMigrations (): Promise<PackagedMigration[]> {
    return this.#migrations
  }

  getMigrationName (migration: PackagedMigration): string {
    return migration.name
  }

  async getMigration (migration: PackagedMigration): Promise<Knex.Migration> {
    return { up: migration.up, down: migration.down }
  }
}
