import type { Knex } from 'knex'
import type { Revocation, RevocationPort } from '../ports.js'
import { revocationFromRow, seconds } from './rows.js'
import { guarded } from './store-errors.js'
import type { TableNames } from './table-names.js'

/** Appends a revocation inside `trx`, the transaction that caused it. */
export type AppendRevocation = (trx: Knex.Transaction, revocation: Revocation, now: number) => Promise<void>

/**
 * The store's way of appending a revocation. With `channel` (PostgreSQL), each append
 * also NOTIFYs it in the same transaction: PostgreSQL delivers the announcement at
 * commit, after the row is visible, and never for a rolled-back insert. The payload is
 * empty: listeners read the feed, they never trust an announcement's content.
 */
export function revocationAppender (tables: TableNames, channel: string | undefined): AppendRevocation {
  return async (trx, revocation, now) => {
    const { kind, subject, version, expiresAt } = revocation
    await trx(tables.revocations).insert({ kind, subject, version, expires_at: seconds(expiresAt), created_at: seconds(now) })
    if (channel !== undefined) await trx.raw("select pg_notify(?, '')", [channel])
  }
}

/**
 * Revocations get their ids from the database's auto-increment: ids grow with commit
 * start, not commit end, so a reader may see a gap that fills later (the port allows it).
 */
export function knexRevocationPort (knex: Knex, tables: TableNames, readTimeoutMs: number, appendRevocation: AppendRevocation, watch: RevocationPort['watch']): RevocationPort {
  return {
    ...(watch === undefined ? {} : { watch }),
    // A transaction of its own, so that the insert and its announcement succeed or fail together.
    append: async (revocation, now) => { await guarded(async () => { await knex.transaction(async (trx) => { await appendRevocation(trx, revocation, now) }) }) },

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
