import type { Knex } from 'knex'
import { UsernameTakenError } from '../../errors.js'
import type { UserPort, UserUpdate } from '../ports.js'
import { appendRevocation } from './revocations.js'
import { seconds, userChangesToRow, userFromRow, userToRow, type Row } from './rows.js'
import { guarded, isUniqueViolation } from './store-errors.js'
import type { TableNames } from './table-names.js'

function expectedColumns (expect: UserUpdate['expect'] = {}): Row {
  const row: Row = {}
  if (expect.passwordHash !== undefined) row.password_hash = expect.passwordHash
  if (expect.disabled !== undefined) row.disabled = expect.disabled
  return row
}

/**
 * Users in one table. Every change is a conditional UPDATE of the user's row run first in
 * its transaction: it is the compare-and-set, it takes the row lock (PostgreSQL, MySQL)
 * or the write lock (SQLite) at once, and everything the change implies (revoking the
 * families, appending the revocation) happens under that lock.
 */
export function knexUserPort (knex: Knex, tables: TableNames, profileColumns: readonly string[]): UserPort {
  const findUser = async (db: Knex | Knex.Transaction, where: Row): Promise<ReturnType<typeof userFromRow> | undefined> => {
    const row = await db(tables.users).where(where).first()
    return row === undefined ? undefined : userFromRow(row, profileColumns)
  }

  return {
    insert: async (user) => {
      await guarded(async () => {
        try {
          await knex(tables.users).insert(userToRow(user, profileColumns))
        } catch (error) {
          if (isUniqueViolation(error)) throw new UsernameTakenError()
          throw error
        }
      })
    },

    findById: async (id) => await guarded(async () => await findUser(knex, { id })),

    findByUsername: async (username) => await guarded(async () => {
      // Exactly this spelling, whatever the column's collation (MySQL's default ignores case and accents).
      const user = await findUser(knex, { username })
      return user?.username === username ? user : undefined
    }),

    update: async (id, { set, expect, revokeTokens }) => await guarded(async () => await knex.transaction(async (trx) => {
      // token_version is always assigned (+0 without revokeTokens), so the SET is never
      // empty. mysql2 reports rows matched (its default FOUND_ROWS flag), so an update
      // that changes nothing still counts as applied.
      const updated = await trx(tables.users).where({ ...expectedColumns(expect), id }).update({
        ...userChangesToRow(set, profileColumns),
        token_version: trx.raw('?? + ?', ['token_version', revokeTokens === undefined ? 0 : 1]),
        ...(revokeTokens === undefined ? {} : { updated_at: seconds(revokeTokens.now) })
      })
      if (updated !== 1) return undefined
      const user = await findUser(trx, { id }) as ReturnType<typeof userFromRow>
      if (revokeTokens !== undefined) {
        const { now, expiresAt } = revokeTokens
        await trx(tables.refreshFamilies).where({ user_id: id }).whereNull('revoked_at').update({ revoked_at: seconds(now) })
        await appendRevocation(trx, tables, { kind: 'user', subject: id, version: user.tokenVersion, expiresAt }, now)
      }
      return user
    })),

    delete: async (id, { now, expiresAt }) => await guarded(async () => await knex.transaction(async (trx) => {
      const bumped = await trx(tables.users).where({ id }).update({ token_version: trx.raw('?? + 1', ['token_version']) })
      if (bumped !== 1) return false
      const { token_version: version } = await trx(tables.users).where({ id }).first('token_version')
      await trx(tables.refreshTokens).whereIn('family_id', trx(tables.refreshFamilies).select('id').where({ user_id: id })).delete()
      await trx(tables.refreshFamilies).where({ user_id: id }).delete()
      await trx(tables.users).where({ id }).delete()
      await appendRevocation(trx, tables, { kind: 'user', subject: id, version: Number(version), expiresAt }, now)
      return true
    }))
  }
}
