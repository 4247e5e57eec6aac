import type { Knex } from 'knex'
import { toSeconds, type Duration } from '../../duration.js'
import { InvalidOptionError } from '../../errors.js'
import { shownValue } from '../../shown-value.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../../options/known-keys.js'
import { tableNames, type TableNames } from './table-names.js'

export interface KnexStoreOptions {
  /** A knex instance the application owns: the store never destroys it. */
  knex: Knex
  /** Prefix of every table name (lower-case letters, digits, _; at most 24). Default 'auth_'. */
  tablePrefix?: string | undefined
  /**
   * Application fields of a user, kept in `UserRecord.profile`: columns the application
   * added to the users table with its own migration. Default none.
   */
  profileColumns?: readonly string[] | undefined
  /** How long migrate() waits for another instance's migration to finish. Default '30s'. */
  migrationLockTimeout?: Duration | undefined
  /**
   * The longest a revocation read (the sync's poll) may take: past it the query is given up
   * and its connection discarded, so a connection that hangs never stays in the pool. Default '5s'.
   */
  readTimeout?: Duration | undefined
  /**
   * On PostgreSQL, announce each revocation with NOTIFY and offer `revocations.watch`
   * (LISTEN on one connection of its own, outside the pool), so that instances read it at
   * once instead of at their next poll. No effect on other databases. Default true.
   */
  notify?: boolean | undefined
}

export interface ResolvedKnexStoreOptions {
  knex: Knex
  tables: TableNames
  profileColumns: readonly string[]
  migrationLockTimeoutMs: number
  readTimeoutMs: number
  notify: boolean
}

const KNEX_STORE_OPTIONS: KnownKeys<KnexStoreOptions> = { knex: true, tablePrefix: true, profileColumns: true, migrationLockTimeout: true, readTimeout: true, notify: true }
const KNEX_STORE_OPTION_NAMES = optionNames(KNEX_STORE_OPTIONS)

const DEFAULTS = Object.freeze({ tablePrefix: 'auth_', profileColumns: Object.freeze([]) as readonly string[], migrationLockTimeout: '30s', readTimeout: '5s' })

const BUILT_IN_USER_COLUMNS = new Set(['id', 'username', 'email', 'roles', 'password_hash', 'disabled', 'token_version', 'created_at', 'updated_at', 'email_verified_at'])
const COLUMN_NAME = /^[a-z_][a-z0-9_]{0,62}$/

export function checkProfileColumns (columns: unknown): readonly string[] {
  if (!Array.isArray(columns) || !columns.every((column) => typeof column === 'string' && COLUMN_NAME.test(column) && !BUILT_IN_USER_COLUMNS.has(column))) {
    throw new InvalidOptionError('profileColumns must be an array of lower-case column names other than the built-in user columns')
  }
  return Object.freeze([...columns])
}

function checkNotify (notify: unknown): boolean {
  if (typeof notify !== 'boolean') throw new InvalidOptionError(`notify must be true or false; got ${shownValue(notify)}`)
  return notify
}

export function resolveKnexStoreOptions (options: KnexStoreOptions): ResolvedKnexStoreOptions {
  if (typeof options !== 'object' || options === null || typeof options.knex !== 'function') {
    throw new InvalidOptionError('createKnexStore needs { knex }, a knex instance')
  }
  refuseUnknownKeys(options, KNEX_STORE_OPTION_NAMES, { owner: 'createKnexStore' })
  return {
    knex: options.knex,
    tables: tableNames(options.tablePrefix ?? DEFAULTS.tablePrefix),
    profileColumns: checkProfileColumns(options.profileColumns ?? DEFAULTS.profileColumns),
    migrationLockTimeoutMs: toSeconds(options.migrationLockTimeout ?? DEFAULTS.migrationLockTimeout, 'migrationLockTimeout') * 1000,
    readTimeoutMs: toSeconds(options.readTimeout ?? DEFAULTS.readTimeout, 'readTimeout', 0.01, 600) * 1000,
    notify: checkNotify(options.notify ?? true)
  }
}
