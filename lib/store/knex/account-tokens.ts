import type { Knex } from 'knex'
import type { AccountTokenPort } from '../ports.js'
import { accountTokenFromRow, accountTokenToRow, seconds } from './rows.js'
import { guarded } from './store-errors.js'
import type { TableNames } from './table-names.js'

/**
 * Single-use account tokens, one row per token by hash. consume reads the row, then
 * deletes it with the same conditions: a row is deleted once, so of any number of
 * concurrent consumers, on any connection and isolation level, exactly one DELETE
 * affects it, and only that caller gets the token. (Portable where DELETE … RETURNING
 * is not: MySQL has none.)
 */
export function knexAccountTokenPort (knex: Knex, tables: TableNames): AccountTokenPort {
  const table = tables.accountTokens
  const live = (hash: string, purpose: string, now: number): Knex.QueryBuilder =>
    knex(table).where({ hash, purpose }).where('expires_at', '>', seconds(now))

  return {
    insert: async (token) => { await guarded(async () => { await knex(table).insert(accountTokenToRow(token)) }) },

    find: async (hash, purpose, now) => await guarded(async () => {
      const row = await live(hash, purpose, now).first()
      return row === undefined ? undefined : accountTokenFromRow(row)
    }),

    consume: async (hash, purpose, now) => await guarded(async () => {
      const row = await live(hash, purpose, now).first()
      if (row === undefined) return undefined
      return await live(hash, purpose, now).delete() === 1 ? accountTokenFromRow(row) : undefined
    }),

    deleteByUser: async (userId, purpose) => await guarded(async () => await knex(table).where({ user_id: userId, purpose }).delete()),

    prune: async (now) => await guarded(async () => await knex(table).where('expires_at', '<=', seconds(now)).delete())
  }
}
