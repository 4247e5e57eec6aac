import type { Knex } from 'knex'

/**
 * The escape character of the LIKE patterns of a user search. Not the backslash:
 * MySQL string literals treat it as an escape of their own, so `ESCAPE '\'` means
 * different things on different databases; `!` means itself everywhere.
 */
export const LIKE_ESCAPE = '!'

/** A LIKE pattern matching `text` literally anywhere: its `%`, `_` and `!` are characters, not wildcards. */
export function likePattern (text: string): string {
  return `%${text.replace(/[!%_]/g, (character) => `${LIKE_ESCAPE}${character}`)}%`
}

/**
 * How to make username comparisons byte order on this database: PostgreSQL orders by
 * the database's locale unless told COLLATE "C"; MySQL's username column is utf8mb4_bin
 * (0003) and SQLite's default is BINARY, both already byte order (for UTF-8, also code
 * point order, as the memory store sorts).
 */
export function usernameOrder (knex: Knex): { collate: string } {
  return { collate: knex.client.dialect === 'postgresql' ? 'COLLATE "C"' : '' }
}

/**
 * The column expression that compares the stored roles (JSON text) byte for byte:
 * MySQL's default collation would take ["Admin"] for ["admin"] and let a stale
 * compare-and-set pass; PostgreSQL and SQLite compare text exactly already.
 */
export function exactRolesColumn (dialect: string): string {
  return dialect === 'mysql' ? 'BINARY ??' : '??'
}
