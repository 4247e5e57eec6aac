import type { Knex } from 'knex'

/**
 * Adds `column = value`, compared byte for byte. MySQL and MariaDB compare by the
 * column's collation, by default blind to case and to trailing spaces: a key id that
 * differs from another only in case would find it. The plain comparison keeps the
 * index; on MySQL a BINARY one beside it makes the match exact. PostgreSQL and SQLite
 * compare text exactly already.
 */
export function whereExactly (query: Knex.QueryBuilder, column: string, value: string): Knex.QueryBuilder {
  query.where(column, value)
  return query.client.dialect === 'mysql' ? query.whereRaw('BINARY ?? = ?', [column, value]) : query
}
