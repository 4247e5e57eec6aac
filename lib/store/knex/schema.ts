import type { Knex } from 'knex'
import { setTimeout as sleep } from 'node:timers/promises'
import { ensureMigrationLock, PackagedMigrationSource, packagedMigrations } from './migrations.js'
import type { TableNames } from './table-names.js'

const MIGRATION_RETRY_DELAY_MS = 250

// What a migration that lost the race to another instance fails with: knex's lock, the
// other instance's CREATE TABLE of knex's bookkeeping tables landing first, or SQLite
// refusing a second writer.
function isMigrationRace (error: unknown, migrationsTable: string): boolean {
  const message = String((error as Error).message)
  return /is already locked|SQLITE_BUSY/.test(message) || (/already exists|duplicate|unique/i.test(message) && message.includes(migrationsTable))
}

export interface SchemaManager {
  migrate: () => Promise<void>
  rollback: () => Promise<void>
}

/** Runs the packaged migrations up (from several instances at once) and all the way down. */
export function schemaManager (knex: Knex, tables: TableNames, lockTimeoutMs: number): SchemaManager {
  const config = { migrationSource: new PackagedMigrationSource(packagedMigrations(tables)), tableName: tables.migrations }
  return {
    async migrate () {
      // Several instances starting together race for knex's migration lock: the losers
      // wait for the winner to finish and then find nothing left to do. The deadline is
      // elapsed time of this call, not a time the tokens or the store compare against.
      const giveUpAt = performance.now() + lockTimeoutMs
      for (;;) {
        try {
          await ensureMigrationLock(knex, tables.migrationsLock)
          await knex.migrate.latest(config)
          return
        } catch (error) {
          if (performance.now() >= giveUpAt || !isMigrationRace(error, tables.migrations)) throw error
          await sleep(MIGRATION_RETRY_DELAY_MS)
        }
      }
    },
    async rollback () {
      await knex.migrate.rollback(config, true)
      await knex.schema.dropTableIfExists(tables.migrationsLock)
      await knex.schema.dropTableIfExists(tables.migrations)
    }
  }
}
