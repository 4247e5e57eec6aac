import { InvalidOptionError } from '../../errors.js'
import { shownValue } from '../../shown-value.js'

export interface TableNames {
  users: string
  /** One row per session: its current token, compare-and-swapped by every rotation. */
  refreshFamilies: string
  /** Every refresh token issued (by hash), so that a long-spent one is still recognised. */
  refreshTokens: string
  revocations: string
  loginAttempts: string
  /** The 0001 schema's throttling table, dropped by 0002. */
  loginFailures: string
  /** knex's own bookkeeping for this package's migrations. */
  migrations: string
  /** knex's lock row for them: always `${migrations}_lock`. */
  migrationsLock: string
}

// Short enough that prefix + the longest table + index suffixes stay under MySQL's 64 characters.
const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,23}$/

export function tableNames (prefix: string): TableNames {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidOptionError(`tablePrefix must be lower-case letters, digits and _, starting with a letter, at most 24 characters; got ${shownValue(prefix)}`)
  }
  return {
    users: `${prefix}users`,
    refreshFamilies: `${prefix}refresh_families`,
    refreshTokens: `${prefix}refresh_tokens`,
    revocations: `${prefix}revocations`,
    loginAttempts: `${prefix}login_attempts`,
    loginFailures: `${prefix}login_failures`,
    migrations: `${prefix}migrations`,
    migrationsLock: `${prefix}migrations_lock`
  }
}
