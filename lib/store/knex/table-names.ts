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
  /** Single-use links sent by mail (password resets, email verifications), by hash. */
  accountTokens: string
  /** Users' API keys, by id and by hash. */
  apiKeys: string
  /** Users' TOTP authenticators, one row per user. */
  totpFactors: string
  /** Users' recovery codes, by user and hash. */
  recoveryCodes: string
  /** Users' WebAuthn credentials, by the SHA-256 of the credential id. */
  passkeys: string
  /** Single-use server challenges (second login steps, WebAuthn), by hash. */
  challenges: string
  /** The 0001 schema's throttling table, dropped by 0002. */
  loginFailures: string
  /** knex's own bookkeeping for this package's migrations. */
  migrations: string
  /** knex's lock row for them: always `${migrations}_lock`. */
  migrationsLock: string
}

/**
 * Names of the unique indexes on users, so that a violation can be told apart by the
 * index the database names: the username one is knex's default name for the
 * `.unique()` of 0001, the email one is named so by 0004.
 */
export interface UserIndexNames {
  username: string
  email: string
}

export function userIndexNames (tables: Pick<TableNames, 'users'>): UserIndexNames {
  return { username: `${tables.users}_username_unique`, email: `${tables.users}_email_unique` }
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
    accountTokens: `${prefix}account_tokens`,
    apiKeys: `${prefix}api_keys`,
    totpFactors: `${prefix}totp_factors`,
    recoveryCodes: `${prefix}recovery_codes`,
    passkeys: `${prefix}passkeys`,
    challenges: `${prefix}challenges`,
    loginFailures: `${prefix}login_failures`,
    migrations: `${prefix}migrations`,
    migrationsLock: `${prefix}migrations_lock`
  }
}
