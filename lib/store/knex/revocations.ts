import type { Knex } from 'knex'
import type { Revocation, RevocationPort } from '../ports.js'
import { revocationFromRow, seconds } from './rows.js'
import { guarded } from './store-errors.js'
import type { TableNames } from './table-names.js'

/** Appends a revocation with `db`: the store's pool, or the transaction that caused it. */
export async function appendRevocation (db: Knex | Knex.Transaction, tables: TableNames, revocation: Revocation, now: number): Promise<void> {
  const { kind, subject, version, expiresAt } = revocation
  await db(tables.revocations).insert({ kind, subject, version, expires_at: seconds(expiresAt), created_at: seconds(now) })
}

/**
 * Revocations get their ids from the database's auto-increment: ids grow with commit
 * start, not commit end, so a reader may see a gap that fills later (the port allows it).
 */
export function knexRevocationPort (knex: Knex, tables: TableNames, readTimeoutMs: number): RevocationPort {
  return {
    append: async (revocation, now) => { await guarded(async () => { await appendRevocation(knex, tables, revocation, now) }) },

    list: async ({ afterId, beforeId, limit }) => await guarded(async () => {
      // Without cancel, knex discards the connection of a timed-out query: a hung one never returns to the pool.
      const query = knex(tables.revocations).where('id', '>', afterId).orderBy('id').timeout(readTimeoutMs)
      if (beforeId !== undefined) query.where('id', '<', beforeId)
      if (limit !== undefined) query.limit(limit)
      return (await query).map(revocationFromRow)
    }),

    prune: async (now) => await guarded(async () => await knex(tables.revocations).where('expires_at', '<=', seconds(now)).delete())
  }
}
