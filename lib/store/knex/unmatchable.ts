/**
 * True for a key no row can hold. PostgreSQL refuses a NUL in any text parameter (an
 * error, where SQLite and MySQL simply find nothing), so a lookup by such a key answers
 * "no such row" before it reaches the database, the same on every database.
 */
export function unmatchable (...keys: Array<string | undefined>): boolean {
  return keys.some((key) => key !== undefined && key.includes('\u0000'))
}
