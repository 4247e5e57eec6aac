import type { Knex } from 'knex'
import type { PackagedMigration } from './migrations.js'
import { isMySql } from './mysql-dialect.js'
import type { TableNames } from './table-names.js'

const MAX_PASSKEY_NAME_LENGTH = 100

/** What a family written before 0006 proved: its user signed in with a password, the only way there was. */
export const PASSWORD_ONLY_AUTH_METHODS = '["pwd"]'

// On MySQL and MariaDB: an encrypted TOTP secret is base64url, where case matters, and
// totp.confirm / useStep compare it, so it compares byte for byte (utf8mb4_bin); a
// passkey's name is the user's own text and a challenge's binding the core's, emoji
// possible in both, so they are utf8mb4 whatever the database's default character set.
export async function collateSecondFactors (knex: Knex, tables: Pick<TableNames, 'totpFactors' | 'passkeys' | 'challenges'>): Promise<void> {
  if (!isMySql(knex)) return
  await knex.raw('ALTER TABLE ?? MODIFY ?? VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL', [tables.totpFactors, 'encrypted_secret'])
  await knex.raw(`ALTER TABLE ?? MODIFY ?? VARCHAR(${MAX_PASSKEY_NAME_LENGTH}) CHARACTER SET utf8mb4 NOT NULL`, [tables.passkeys, 'name'])
  await knex.raw('ALTER TABLE ?? MODIFY ?? VARCHAR(200) CHARACTER SET utf8mb4 NOT NULL', [tables.challenges, 'binding'])
}

/**
 * Second factors: a TOTP factor per user (its secret encrypted by the core), recovery
 * codes by user and hash, passkeys, single-use challenges by hash, and on each session
 * how its user signed in (RFC 8176 `amr` values as a JSON array).
 */
export function secondFactorsSchema (tables: TableNames): PackagedMigration {
  return {
    name: '0006_second_factors',
    async up (knex) {
      await knex.schema.createTable(tables.totpFactors, (table) => {
        table.string('user_id', 36).primary()
        table.string('encrypted_secret', 200).notNullable()
        table.bigInteger('created_at').notNullable()
        table.bigInteger('confirmed_at').nullable()
        table.bigInteger('last_used_step').notNullable()
      })
      await knex.schema.createTable(tables.recoveryCodes, (table) => {
        table.string('user_id', 36).notNullable()
        table.string('hash', 64).notNullable()
        table.bigInteger('created_at').notNullable()
        table.bigInteger('used_at').nullable()
        table.primary(['user_id', 'hash'])
      })
      await knex.schema.createTable(tables.passkeys, (table) => {
        // A credential id may be 1364 characters: too long for a primary key on MySQL
        // (3072 bytes at most, 4 per utf8mb4 character) and a costly one anywhere. Its
        // SHA-256 (hex) is the key every lookup goes by; the id itself is kept beside it.
        table.string('id_hash', 64).primary()
        table.text('id').notNullable()
        table.string('user_id', 36).notNullable().index()
        table.string('name', MAX_PASSKEY_NAME_LENGTH).notNullable()
        table.text('public_key').notNullable()
        table.bigInteger('counter').notNullable()
        table.text('transports').notNullable()
        table.string('device_type', 16).notNullable()
        table.boolean('backed_up').notNullable()
        table.bigInteger('created_at').notNullable()
        table.bigInteger('last_used_at').nullable()
      })
      await knex.schema.createTable(tables.challenges, (table) => {
        table.string('hash', 64).primary()
        table.string('purpose', 32).notNullable()
        table.string('user_id', 36).nullable().index()
        table.string('binding', 200).notNullable()
        table.bigInteger('created_at').notNullable()
        table.bigInteger('expires_at').notNullable().index()
      })
      await collateSecondFactors(knex, tables)
      // A VARCHAR, not a TEXT: MySQL 8 refuses a literal default on TEXT columns. A few short `amr` values fit many times over.
      await knex.schema.alterTable(tables.refreshFamilies, (table) => {
        table.string('auth_methods', 255).notNullable().defaultTo(PASSWORD_ONLY_AUTH_METHODS)
      })
    },
    async down (knex) {
      await knex.schema.alterTable(tables.refreshFamilies, (table) => { table.dropColumn('auth_methods') })
      for (const table of [tables.challenges, tables.passkeys, tables.recoveryCodes, tables.totpFactors]) {
        await knex.schema.dropTableIfExists(table)
      }
    }
  }
}
