import type { Knex } from 'knex'
import type { RecoveryCodePort } from '../ports.js'
import { seconds } from './rows.js'
import { guarded, retryingConflicts } from './store-errors.js'
import type { TableNames } from './table-names.js'
import { unmatchable } from './unmatchable.js'

/**
 * Recovery codes, one row per code by user and hash. replace runs under the user's row
 * lock (as users.delete takes it too), so two replacements never mix their sets; use is
 * one conditional UPDATE of the code's row, so of concurrent uses exactly one matches.
 */
export function knexRecoveryCodePort (knex: Knex, tables: TableNames): RecoveryCodePort {
  const table = tables.recoveryCodes

  return {
    replace: async (userId, hashes, now) => {
      if (unmatchable(userId)) return
      await guarded(async () => {
        await retryingConflicts(async () => {
          await knex.transaction(async (trx) => {
            const locked = await trx(tables.users).where({ id: userId }).update({ token_version: trx.raw('??', ['token_version']) })
            // A user deleted meanwhile keeps no codes: nothing would ever remove them.
            if (locked !== 1) return
            await trx(table).where({ user_id: userId }).delete()
            if (hashes.length > 0) await trx(table).insert(hashes.map((hash) => ({ user_id: userId, hash, created_at: seconds(now), used_at: null })))
          })
        })
      })
    },

    use: async (userId, hash, now) => unmatchable(userId, hash)
      ? false
      : await guarded(async () => await knex(table).where({ user_id: userId, hash }).whereNull('used_at').update({ used_at: seconds(now) }) === 1),

    countUnused: async (userId) => unmatchable(userId)
      ? 0
      : await guarded(async () => {
        const [{ count }] = await knex(table).where({ user_id: userId }).whereNull('used_at').count({ count: '*' })
        return Number(count)
      }),

    removeAll: async (userId) => unmatchable(userId)
      ? 0
      : await guarded(async () => await knex(table).where({ user_id: userId }).delete())
  }
}
