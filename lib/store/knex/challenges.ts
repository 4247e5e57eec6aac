import type { Knex } from 'knex'
import type { Challenge, ChallengePort, ChallengePurpose } from '../ports.js'
import { seconds, type Row } from './rows.js'
import { guarded } from './store-errors.js'
import type { TableNames } from './table-names.js'
import { unmatchable } from './unmatchable.js'

const challengeFromRow = (row: Row): Challenge => ({
  hash: String(row.hash),
  purpose: row.purpose as ChallengePurpose,
  userId: row.user_id === null ? null : String(row.user_id),
  binding: String(row.binding),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at)
})

/**
 * Single-use challenges, one row per challenge by hash. consume reads the row, then
 * deletes it with the same conditions: a row is deleted once, so of any number of
 * concurrent consumers, on any connection and isolation level, exactly one DELETE
 * affects it, and only that caller gets the challenge (as account tokens are consumed).
 */
export function knexChallengePort (knex: Knex, tables: TableNames): ChallengePort {
  const table = tables.challenges
  const live = (hash: string, purpose: ChallengePurpose, now: number): Knex.QueryBuilder =>
    knex(table).where({ hash, purpose }).where('expires_at', '>', seconds(now))

  return {
    insert: async (challenge) => {
      await guarded(async () => {
        await knex(table).insert({
          hash: challenge.hash,
          purpose: challenge.purpose,
          user_id: challenge.userId,
          binding: challenge.binding,
          created_at: seconds(challenge.createdAt),
          expires_at: seconds(challenge.expiresAt)
        })
      })
    },

    find: async (hash, purpose, now) => unmatchable(hash)
      ? undefined
      : await guarded(async () => {
        const row = await live(hash, purpose, now).first()
        return row === undefined ? undefined : challengeFromRow(row)
      }),

    consume: async (hash, purpose, now) => unmatchable(hash)
      ? undefined
      : await guarded(async () => {
        const row = await live(hash, purpose, now).first()
        if (row === undefined) return undefined
        return await live(hash, purpose, now).delete() === 1 ? challengeFromRow(row) : undefined
      }),

    prune: async (now) => await guarded(async () => await knex(table).where('expires_at', '<=', seconds(now)).delete())
  }
}
