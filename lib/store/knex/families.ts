import type { Knex } from 'knex'
import type { RefreshFamilyPort } from '../ports.js'
import type { AppendRevocation } from './revocations.js'
import { familyFromRow, seconds } from './rows.js'
import { guarded } from './store-errors.js'
import type { TableNames } from './table-names.js'
import { unmatchable } from './unmatchable.js'

/**
 * Refresh-token families: one row per session, and a history of every token issued.
 * rotate and revoke are each one conditional UPDATE of the family row, run first in
 * their transaction: on every database and isolation level two UPDATEs of one row
 * serialise, and the later one re-checks its WHERE against what the earlier committed.
 * So a rotation that lost to a revocation matches nothing, and one that won is revoked
 * with its family. The token history is only ever inserted into after such an UPDATE.
 */
export function knexFamilyPort (knex: Knex, tables: TableNames, appendRevocation: AppendRevocation): RefreshFamilyPort {
  return {
    create: async (family, token) => {
      await guarded(async () => {
        await knex.transaction(async (trx) => {
          await trx(tables.refreshFamilies).insert({
            id: family.id,
            user_id: family.userId,
            token_version: family.tokenVersion,
            created_at: seconds(family.createdAt),
            expires_at: seconds(family.expiresAt),
            current_token_hash: token.hash,
            client_address: family.clientAddress,
            user_agent: family.userAgent,
            auth_methods: JSON.stringify(family.authMethods)
          })
          await trx(tables.refreshTokens).insert({ token_hash: token.hash, family_id: family.id, expires_at: seconds(token.expiresAt) })
        })
      })
    },

    findByToken: async (tokenHash) => unmatchable(tokenHash)
      ? undefined
      : await guarded(async () => {
        const row = await knex(`${tables.refreshTokens} as token`)
          .join(`${tables.refreshFamilies} as family`, 'family.id', 'token.family_id')
          .where('token.token_hash', tokenHash)
          .first('family.*', 'token.token_hash as token_hash', 'token.expires_at as token_expires_at')
        if (row === undefined) return undefined
        return { family: familyFromRow(row), token: { hash: String(row.token_hash), expiresAt: Number(row.token_expires_at) } }
      }),

    rotate: async (familyId, spentHash, successor, now, client) => unmatchable(familyId, spentHash)
      ? false
      : await guarded(async () => await knex.transaction(async (trx) => {
        const at = seconds(now)
        const swapped = await trx(tables.refreshFamilies)
          .where({ id: familyId, current_token_hash: spentHash })
          .whereNull('revoked_at')
          .where('expires_at', '>', at)
          .update({
            current_token_hash: successor.hash,
            previous_token_hash: spentHash,
            rotated_at: at,
            ...(client === undefined ? {} : { client_address: client.clientAddress, user_agent: client.userAgent })
          })
        if (swapped !== 1) return false
        await trx(tables.refreshTokens).insert({ token_hash: successor.hash, family_id: familyId, expires_at: seconds(successor.expiresAt) })
        return true
      })),

    revoke: async (familyId, now, accessTokensExpireBy) => unmatchable(familyId)
      ? false
      : await guarded(async () => await knex.transaction(async (trx) => {
        const revoked = await trx(tables.refreshFamilies).where({ id: familyId }).whereNull('revoked_at').update({ revoked_at: seconds(now) })
        if (revoked !== 1) return false
        await appendRevocation(trx, { kind: 'session', subject: familyId, version: 0, expiresAt: accessTokensExpireBy }, now)
        return true
      })),

    listByUser: async (userId, now) => unmatchable(userId)
      ? []
      : await guarded(async () => {
        const rows = await knex(tables.refreshFamilies)
          .where({ user_id: userId })
          .whereNull('revoked_at')
          .where('expires_at', '>', seconds(now))
          .orderBy(['created_at', 'id'])
        return rows.map(familyFromRow)
      }),

    prune: async (now) => await guarded(async () => {
      const at = seconds(now)
      const tokens = await knex(tables.refreshTokens).where('expires_at', '<=', at).delete()
      const families = await knex(tables.refreshFamilies).where('expires_at', '<=', at).delete()
      return tokens + families
    })
  }
}
