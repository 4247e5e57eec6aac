import { setTimeout as sleep } from 'node:timers/promises'
import { StoreUnavailableError, withRetryAfter } from '../../errors.js'

const RETRY_AFTER_SECONDS = 2

const codeOf = (error: unknown): string => String((error as { code?: unknown } | null)?.code)

// Unique-constraint violations as each driver reports them: pg's SQLSTATE,
// mysql2's code, sqlite3's code (which also covers other constraints; the only one
// an insert here can break is the unique username).
const UNIQUE_VIOLATION_CODES = new Set(['23505', 'ER_DUP_ENTRY', 'SQLITE_CONSTRAINT'])

export function isUniqueViolation (error: unknown): boolean {
  return UNIQUE_VIOLATION_CODES.has(codeOf(error))
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
