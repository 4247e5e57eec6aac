import { setTimeout as sleep } from 'node:timers/promises'
import { StoreUnavailableError, withRetryAfter } from '../../errors.js'

const RETRY_AFTER_SECONDS = 2

const codeOf = (error: unknown): string => String((error as { code?: unknown } | null)?.code)

/** A unique index, by what each database calls it in a violation. */
export interface UniqueIndex {
  table: string
  column: string
  /** Its name (PostgreSQL and MySQL report it). */
  index: string
}

// MySQL and MariaDB end the message with the key's name, MySQL 8 as `table.name`.
const MYSQL_DUPLICATE_KEY = / for key '(?:[^']*\.)?([^'.]+)'$/

/**
 * Whether `error` is a violation of this unique index, as each driver reports it:
 * pg's SQLSTATE 23505 with the constraint's name, mysql2's ER_DUP_ENTRY with the key's
 * name in the message, sqlite3's SQLITE_CONSTRAINT naming the table and column (SQLite
 * reports columns, not index names). A violation of any other index is not one.
 */
export function isUniqueViolationOf (error: unknown, { table, column, index }: UniqueIndex): boolean {
  const code = codeOf(error)
  const message = String((error as { message?: unknown } | null)?.message)
  if (code === '23505') return (error as { constraint?: unknown }).constraint === index
  if (code === 'ER_DUP_ENTRY') return MYSQL_DUPLICATE_KEY.exec(message)?.[1] === index
  return code === 'SQLITE_CONSTRAINT' && message.endsWith(`UNIQUE constraint failed: ${table}.${column}`)
}

// A transaction the database gave up on so that another could go on: pg's deadlock and
// serialization failure, InnoDB's deadlock victim, SQLite's busy writer lock.
const TRANSIENT_CONFLICT_CODES = new Set(['40P01', '40001', 'ER_LOCK_DEADLOCK', 'SQLITE_BUSY'])

export function isTransientConflict (error: unknown): boolean {
  return TRANSIENT_CONFLICT_CODES.has(codeOf(error))
}

const CONFLICT_RETRIES = 5

/**
 * Runs a whole transaction again when the database chose it as a deadlock victim or
 * found its lock busy: safe only when the work is pure apart from its statements.
 */
export async function retryingConflicts<T> (transaction: () => Promise<T>, retriesLeft = CONFLICT_RETRIES): Promise<T> {
  try {
    return await transaction()
  } catch (error) {
    if (retriesLeft === 0 || !isTransientConflict(error)) throw error
  }
  // Random and growing, so that the transactions that collided do not collide again.
  await sleep(Math.random() * 10 * (CONFLICT_RETRIES - retriesLeft + 1))
  return await retryingConflicts(transaction, retriesLeft - 1)
}

function isOwnError (error: unknown): boolean {
  return codeOf(error).startsWith('FST_TOKEN_AUTH_')
}

/**
 * Runs a store operation; a database failure (refused connection, pool timeout,
 * killed session, locked file) becomes a 503 with Retry-After, carrying the driver's
 * error as `cause` for the logs. The package's own errors pass through.
 */
export async function guarded<T> (operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (isOwnError(error)) throw error
    throw withRetryAfter(new StoreUnavailableError({ cause: error }), RETRY_AFTER_SECONDS)
  }
}
