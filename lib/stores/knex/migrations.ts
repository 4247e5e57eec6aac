import type { Knex } from 'knex'
import { ensureMigrationLock as ensureLock, initialSchema, PackagedMigrationSource as MigrationSource } from '../../store/knex/migrations.js'
import type { TableNames } from './table-names.js'

// The migrations moved to the store contract's knex store; the old UserStore runs only the first.

export async function ensureMigrationLock (knex: Knex, tables: TableNames): Promise<void> {
  await ensureLock(knex, tables.migrationsLock)
}

export class PackagedMigrationSource extends MigrationSource {
  constructor (tables: TableNames) {
    super([initialSchema(tables)])
  }
}
