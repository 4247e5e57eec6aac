import type { Knex } from 'knex'
import { StoreMigrationBlockedError } from '../../errors.js'
import { isMySql } from './mysql-dialect.js'
import { secondFactorsSchema } from './second-factors-schema.js'
import { userIndexNames, type TableNames } from './table-names.js'

export interface PackagedMigration {
  name: string
  up: (knex: Knex) => Promise<void>
  down: (knex: Knex) => Promise<void>
}

type Tables = Pick<TableNames, 'users' | 'refreshTokens' | 'revocations' | 'loginFailures'>

// Times are whole seconds since the epoch in BIGINT columns: one meaning on every
// database, no time-zone conversions. Ids of users are UUID strings made by the store.
async function createFirstRefreshTokens (knex: Knex, tables: Tables): Promise<void> {
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
}

async function createLoginFailures (knex: Knex, tables: Tables): Promise<void> {
  await knex.schema.createTable(tables.loginFailures, (table) => {
    table.string('key', 300).primary()
    table.integer('failures').notNullable()
    table.bigInteger('window_started_at').notNullable()
    table.bigInteger('last_failure_at').notNullable().index()
  })
}

/** The first schema, exactly as databases in the field have it. */
export function initialSchema (tables: Tables): PackagedMigration {
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
      await createFirstRefreshTokens(knex, tables)
      await knex.schema.createTable(tables.revocations, (table) => {
        table.increments('id').primary()
        table.string('kind', 16).notNullable()
        table.string('subject', 255).notNullable()
        table.integer('version').notNullable().defaultTo(0)
        table.bigInteger('expires_at').notNullable().index()
        table.bigInteger('created_at').notNullable()
      })
      await createLoginFailures(knex, tables)
    },
    async down (knex) {
      for (const table of [tables.loginFailures, tables.revocations, tables.refreshTokens, tables.users]) {
        await knex.schema.dropTableIfExists(table)
      }
    }
  }
}

/**
 * The store contract's schema: a session is one family row whose current token a
 * rotation compare-and-swaps, tokens are a history for reuse detection, and throttling
 * counters are rows locked for a read-modify-write. Sessions and counters of the first
 * schema cannot be carried over (spent tokens had no family row): users log in again.
 */
export function familiesSchema (tables: TableNames): PackagedMigration {
  return {
    name: '0002_refresh_families_and_login_attempts',
    async up (knex) {
      await knex.schema.dropTableIfExists(tables.refreshTokens)
      await knex.schema.dropTableIfExists(tables.loginFailures)
      await knex.schema.createTable(tables.refreshFamilies, (table) => {
        table.string('id', 64).primary()
        table.string('user_id', 36).notNullable().index()
        table.integer('token_version').notNullable()
        table.bigInteger('created_at').notNullable()
        table.bigInteger('expires_at').notNullable().index()
        table.string('current_token_hash', 64).notNullable()
        table.string('previous_token_hash', 64).nullable()
        table.bigInteger('rotated_at').nullable()
        table.bigInteger('revoked_at').nullable()
      })
      await knex.schema.createTable(tables.refreshTokens, (table) => {
        table.string('token_hash', 64).primary()
        table.string('family_id', 64).notNullable().index()
        table.bigInteger('expires_at').notNullable().index()
      })
      await knex.schema.createTable(tables.loginAttempts, (table) => {
        table.string('key', 200).primary()
        table.integer('count').notNullable()
        table.bigInteger('window_started_at').notNullable()
        table.bigInteger('locked_until').notNullable()
        table.bigInteger('last_attempt_at').notNullable().index()
      })
    },
    async down (knex) {
      for (const table of [tables.loginAttempts, tables.refreshTokens, tables.refreshFamilies]) {
        await knex.schema.dropTableIfExists(table)
      }
      await createFirstRefreshTokens(knex, tables)
      await createLoginFailures(knex, tables)
    }
  }
}

/**
 * MySQL and MariaDB compare strings by the column's collation, by default case- and
 * accent-insensitive (utf8mb4_general_ci): 'alicé' would find the user 'alice', and
 * throttle keys of different spellings would share or split rows. Usernames and
 * throttle keys are already normalised by the core: they must compare byte for byte.
 */
export function binaryKeys (tables: TableNames): PackagedMigration {
  const columns = [[tables.users, 'username', 254], [tables.loginAttempts, 'key', 200]] as const
  async function collate (knex: Knex, collation: string | undefined): Promise<void> {
    if (!isMySql(knex)) return
    for (const [table, column, length] of columns) {
      const collated = collation === undefined ? '' : ` COLLATE ${collation}`
      await knex.raw(`ALTER TABLE ?? MODIFY ?? VARCHAR(${length}) CHARACTER SET utf8mb4${collated} NOT NULL`, [table, column])
    }
  }
  return {
    name: '0003_binary_usernames_and_keys',
    async up (knex) { await collate(knex, 'utf8mb4_bin') },
    async down (knex) { await collate(knex, undefined) }
  }
}

const MAX_EMAIL_LENGTH = 254

// The spelling 0004 gives addresses written before it: NFKC, then lower case, as
// lib/accounts/email-address.ts spells new ones. Done here rather than in SQL: SQL has
// no NFKC, and SQLite's lower() changes ASCII letters only. A copy, not an import: a
// migration must do tomorrow what it does today. An address the spelling would make too
// long for the column is left as it was.
function emailSpelling (email: string): string {
  const spelled = email.normalize('NFKC').toLowerCase()
  return spelled.length <= MAX_EMAIL_LENGTH ? spelled : email
}

const SHOWN_COLLISIONS = 3

/** Lower-cases every stored address, or refuses (changing nothing) when two users would then share one. */
async function respellEmails (knex: Knex, users: string): Promise<void> {
  const rows: Array<{ id: string, email: string }> = await knex(users).whereNotNull('email').select('id', 'email')
  const idsByEmail = new Map<string, string[]>()
  for (const { id, email } of rows) {
    const spelled = emailSpelling(email)
    idsByEmail.set(spelled, [...(idsByEmail.get(spelled) ?? []), id])
  }
  // Ids, not addresses, in the message: it goes to logs.
  const shared = [...idsByEmail.values()].filter((ids) => ids.length > 1)
  if (shared.length > 0) {
    const shown = shared.slice(0, SHOWN_COLLISIONS).map((ids) => ids.join(', ')).join('; ')
    throw new StoreMigrationBlockedError(`0004_accounts makes email addresses unique regardless of case, and ${shared.length} address(es) belong to several users once lower-cased (users ${shown}${shared.length > SHOWN_COLLISIONS ? '; …' : ''}). Give each of those users an address of their own, or null, in the ${users} table, then migrate again`)
  }
  for (const { id, email } of rows) {
    const spelled = emailSpelling(email)
    if (spelled !== email) await knex(users).where({ id }).update({ email: spelled })
  }
}

// MySQL and MariaDB compare by the column's collation (see binaryKeys): addresses are
// normalised by the core, and the unique index must compare them byte for byte.
export async function collateEmail (knex: Knex, users: string, collation: string | undefined): Promise<void> {
  if (!isMySql(knex)) return
  const collated = collation === undefined ? '' : ` COLLATE ${collation}`
  await knex.raw(`ALTER TABLE ?? MODIFY ?? VARCHAR(${MAX_EMAIL_LENGTH}) CHARACTER SET utf8mb4${collated} NULL`, [users, 'email'])
}

/**
 * Accounts: a user's email is normalised and unique (many users may have none), with
 * the time it was verified; a session keeps where it was last used from; single-use
 * account tokens (password reset, email verification links) are kept by hash. Stored
 * addresses are lower-cased first; two users whose addresses then match stop the
 * migration with StoreMigrationBlockedError before anything changed.
 */
export function accountsSchema (tables: TableNames): PackagedMigration {
  const emailIndex = userIndexNames(tables).email
  return {
    name: '0004_accounts',
    async up (knex) {
      await respellEmails(knex, tables.users)
      await collateEmail(knex, tables.users, 'utf8mb4_bin')
      await knex.schema.alterTable(tables.users, (table) => {
        table.bigInteger('email_verified_at').nullable()
        table.unique(['email'], { indexName: emailIndex })
      })
      await knex.schema.alterTable(tables.refreshFamilies, (table) => {
        table.string('client_address', 64).nullable()
        table.string('user_agent', 512).nullable()
      })
      await knex.schema.createTable(tables.accountTokens, (table) => {
        table.string('hash', 64).primary()
        table.string('purpose', 32).notNullable()
        table.string('user_id', 36).notNullable().index()
        table.string('email', MAX_EMAIL_LENGTH).notNullable()
        table.string('binding', 64).notNullable()
        table.bigInteger('created_at').notNullable()
        table.bigInteger('expires_at').notNullable().index()
      })
    },
    // Addresses stay lower-cased: the original spellings are not kept.
    async down (knex) {
      await knex.schema.dropTableIfExists(tables.accountTokens)
      await knex.schema.alterTable(tables.refreshFamilies, (table) => {
        table.dropColumn('client_address')
        table.dropColumn('user_agent')
      })
      await knex.schema.alterTable(tables.users, (table) => {
        table.dropUnique(['email'], emailIndex)
        table.dropColumn('email_verified_at')
      })
      await collateEmail(knex, tables.users, undefined)
    }
  }
}

const MAX_API_KEY_NAME_LENGTH = 100

// On MySQL and MariaDB: key ids are base62, where case matters, so their primary key
// compares byte for byte (utf8mb4_bin); a key's name is the user's own text, emoji
// included, so it is utf8mb4 whatever the database's default character set.
export async function collateApiKeys (knex: Knex, apiKeys: string): Promise<void> {
  if (!isMySql(knex)) return
  await knex.raw(`ALTER TABLE ?? MODIFY ?? VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, MODIFY ?? VARCHAR(${MAX_API_KEY_NAME_LENGTH}) CHARACTER SET utf8mb4 NOT NULL`, [apiKeys, 'id', 'name'])
}

/**
 * API keys: one row per key, found by the SHA-256 (lower-case hex) of the key, unique,
 * and listed by user. Lookups by id or hash compare byte for byte in the port, whatever
 * the collation. Revocation and expiry times are indexed for the prune.
 */
export function apiKeysSchema (tables: TableNames): PackagedMigration {
  return {
    name: '0005_api_keys',
    async up (knex) {
      await knex.schema.createTable(tables.apiKeys, (table) => {
        table.string('id', 16).primary()
        table.string('user_id', 36).notNullable().index()
        table.string('name', MAX_API_KEY_NAME_LENGTH).notNullable()
        table.string('hash', 64).notNullable().unique()
        table.string('start', 32).notNullable()
        table.text('scopes').notNullable()
        table.bigInteger('created_at').notNullable()
        table.bigInteger('expires_at').nullable().index()
        table.bigInteger('last_used_at').nullable()
        table.bigInteger('revoked_at').nullable().index()
        // As wide as the id of the session (refresh family) it names.
        table.string('created_by_session', 64).nullable()
      })
      await collateApiKeys(knex, tables.apiKeys)
    },
    async down (knex) {
      await knex.schema.dropTableIfExists(tables.apiKeys)
    }
  }
}

/**
 * Creates knex's migration lock table with its single row before knex does. knex checks
 * for the row and inserts it when missing, which two instances starting at once can
 * both do: two rows, and from then on knex can never take the lock. Inserting the row
 * with a fixed primary key, ignoring a conflict, makes that race harmless.
 */
export async function ensureMigrationLock (knex: Knex, lockTable: string): Promise<void> {
  if (!await knex.schema.hasTable(lockTable)) {
    // The same shape knex gives it; "already exists" from a concurrent creator is retried by the caller.
    await knex.schema.createTable(lockTable, (table) => {
      table.increments('index').primary()
      table.integer('is_locked')
    })
  }
  await knex(lockTable).insert({ index: 1, is_locked: 0 }).onConflict('index').ignore()
}

/** Migrations that ship inside the package, as a knex MigrationSource. */
export class PackagedMigrationSource implements Knex.MigrationSource<PackagedMigration> {
  readonly #migrations: PackagedMigration[]

  constructor (migrations: PackagedMigration[]) {
    this.#migrations = migrations
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

/** Every migration of the current schema, in order. */
export function packagedMigrations (tables: TableNames): PackagedMigration[] {
  return [initialSchema(tables), familiesSchema(tables), binaryKeys(tables), accountsSchema(tables), apiKeysSchema(tables), secondFactorsSchema(tables)]
}
