import { InvalidOptionError } from '../../errors.js'

export interface TableNames {
  users: string
  refreshTokens: string
  revocations: string
  loginFailures: string
  /** knex's own bookkeeping for this package's migrations (it adds `_lock`). */
  migrations: string
}

// Short enough that prefix + the longest table + index suffixes stay under MySQL's 64 characters.
const PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,23}$/

export function tableNames (prefix: string): TableNames {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidOptionError(`tablePrefix must be lower-case letters, digits and _, starting with a letter, at most 24 characters; got ${JSON.stringify(prefix)}`)
  }
  return {
    users: `${prefix}users`,
    refreshTokens: `${prefix}refresh_tokens`,
    revocations: `${prefix}revocations`,
    loginFailures: `${prefix}login_failures`,
    migrations: `${prefix}migrations`
  }
}
