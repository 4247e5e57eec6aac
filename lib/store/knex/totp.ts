import type { Knex } from 'knex'
import type { TotpFactor, TotpPort } from '../ports.js'
import { seconds, type Row } from './rows.js'
import { guarded, retryingConflicts } from './store-errors.js'
import type { TableNames } from './table-names.js'
import { unmatchable } from './unmatchable.js'

const factorFromRow = (row: Row): TotpFactor => ({
  userId: String(row.user_id),
  encryptedSecret: String(row.encrypted_secret),
  createdAt: Number(row.created_at),
  confirmedAt: row.confirmed_at === null ? null : Number(row.confirmed_at),
  lastUsedStep: Number(row.last_used_step)
})

/**
 * TOTP factors, one row per user. confirm and useStep are each one conditional UPDATE of
 * that row: two UPDATEs of one row serialise on every database, and the later re-checks
 * its WHERE against what the earlier committed, so of concurrent calls with one step
 * exactly one matches. Only stage inserts, under the user's row lock (as users.delete
 * takes it too): no two stages interleave, and none writes for a user being deleted.
 */
export function knexTotpPort (knex: Knex, tables: TableNames): TotpPort {
  const table = tables.totpFactors

  return {
    stage: async (factor) => unmatchable(factor.userId)
      ? false
      : await guarded(async () => await retryingConflicts(async () => await knex.transaction(async (trx) => {
        const locked = await trx(tables.users).where({ id: factor.userId }).update({ token_version: trx.raw('??', ['token_version']) })
        if (locked !== 1) return false
        // What is left after the pending factor is gone can only be a confirmed one: refused.
        await trx(table).where({ user_id: factor.userId }).whereNull('confirmed_at').delete()
        if (await trx(table).where({ user_id: factor.userId }).first('user_id') !== undefined) return false
        await trx(table).insert({
          user_id: factor.userId,
          encrypted_secret: factor.encryptedSecret,
          created_at: seconds(factor.createdAt),
          confirmed_at: null,
          last_used_step: factor.lastUsedStep
        })
        return true
      }))),

    find: async (userId) => unmatchable(userId)
      ? undefined
      : await guarded(async () => {
        const row = await knex(table).where({ user_id: userId }).first()
        return row === undefined ? undefined : factorFromRow(row)
      }),

    confirm: async (userId, encryptedSecret, step, now) => unmatchable(userId, encryptedSecret)
      ? false
      : await guarded(async () => await knex(table)
        .where({ user_id: userId, encrypted_secret: encryptedSecret })
        .whereNull('confirmed_at')
        .update({ confirmed_at: seconds(now), last_used_step: step }) === 1),

    // mysql2 counts rows matched, not changed: the WHERE makes every match a change.
    useStep: async (userId, encryptedSecret, step) => unmatchable(userId, encryptedSecret)
      ? false
      : await guarded(async () => await knex(table)
        .where({ user_id: userId, encrypted_secret: encryptedSecret })
        .whereNotNull('confirmed_at')
        .where('last_used_step', '<', step)
        .update({ last_used_step: step }) === 1),

    remove: async (userId) => unmatchable(userId)
      ? false
      : await guarded(async () => await knex(table).where({ user_id: userId }).delete() > 0)
  }
}
