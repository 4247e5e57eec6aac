import { StoreUnavailableError, withRetryAfter } from '../../errors.js'

const RETRY_AFTER_SECONDS = 2

// Unique-constraint violations as each driver reports them: pg's SQLSTATE,
// mysql2's code, sqlite3's code (which also covers other constraints; the only one
// an insert here can break is the unique username).
const UNIQUE_VIOLATION_CODES = new Set(['23505', 'ER_DUP_ENTRY', 'SQLITE_CONSTRAINT'])

export function isUniqueViolation (error: unknown): boolean {
  return UNIQUE_VIOLATION_CODES.has(String((error as { code?: unknown }).code))
}

function isOwnError (error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('FST_TOKEN_AUTH_')
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
