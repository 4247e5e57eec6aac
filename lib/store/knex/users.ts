import type { Knex } from 'knex'
import { EmailTakenError, UsernameTakenError } from '../../errors.js'
import type { UserListQuery, UserPort, UserRecord, UserUpdate } from '../ports.js'
import type { AppendRevocation } from './revocations.js'
import { unmatchable } from './unmatchable.js'
import { seconds, userChangesToRow, userFromRow, userToRow, type Row } from './rows.js'
import { guarded, isUniqueViolationOf, type UniqueIndex } from './store-errors.js'
import { userIndexNames, type TableNames } from './table-names.js'
import { exactRolesColumn, likePattern, LIKE_ESCAPE, usernameOrder } from './user-list.js'

function applyExpect (query: Knex.QueryBuilder, expect: UserUpdate['expect'] = {}): Knex.QueryBuilder {
  if (expect.passwordHash !== undefined) query.where('password_hash', expect.passwordHash)
  if (expect.disabled !== undefined) query.where('disabled', expect.disabled)
  // SQL's `email = NULL` matches nothing: expecting no email is IS NULL.
  if (expect.email === null) query.whereNull('email')
  else if (expect.email !== undefined) query.where('email', expect.email)
  if (expect.roles !== undefined) query.whereRaw(`${exactRolesColumn(String(query.client.dialect))} = ?`, ['roles', JSON.stringify(expect.roles)])
  return query
}

/**
 * Users in one table. Every change is a conditional UPDATE of the user's row run first in
 * its transaction: it is the compare-and-set, it takes the row lock (PostgreSQL, MySQL)
 * or the write lock (SQLite) at once, and everything the change implies (revoking the
 * families and, for a disable, the API keys, appending the revocation) happens under
 * that lock. Usernames and emails are unique by index: a write that breaks one fails and
 * its transaction rolls back.
 */
export function knexUserPort (knex: Knex, tables: TableNames, profileColumns: readonly string[], appendRevocation: AppendRevocation): UserPort {
  const indexes = userIndexNames(tables)
  const usernameIndex: UniqueIndex = { table: tables.users, column: 'username', index: indexes.username }
  const emailIndex: UniqueIndex = { table: tables.users, column: 'email', index: indexes.email }

  const findUser = async (db: Knex | Knex.Transaction, where: Row): Promise<UserRecord | undefined> => {
    const row = await db(tables.users).where(where).first()
    return row === undefined ? undefined : userFromRow(row, profileColumns)
  }

  /** Runs a write; a taken username or email becomes the package's error for it. */
  async function writing<T> (write: () => Promise<T>): Promise<T> {
    return await guarded(async () => {
      try {
        return await write()
      } catch (error) {
        if (isUniqueViolationOf(error, emailIndex)) throw new EmailTakenError()
        if (isUniqueViolationOf(error, usernameIndex)) throw new UsernameTakenError()
        throw error
      }
    })
  }

  async function list ({ after, limit, search }: UserListQuery): Promise<UserRecord[]> {
    const order = usernameOrder(knex)
    const query = knex(tables.users).orderByRaw(`?? ${order.collate}`, ['username']).limit(limit)
    if (after !== undefined) query.whereRaw(`?? ${order.collate} > ?`, ['username', after])
    if (search !== undefined) {
      const pattern = likePattern(search)
      query.where((match) => {
        match.whereRaw(`?? LIKE ? ESCAPE '${LIKE_ESCAPE}'`, ['username', pattern])
          .orWhereRaw(`?? LIKE ? ESCAPE '${LIKE_ESCAPE}'`, ['email', pattern])
      })
    }
    return (await query).map((row: Row) => userFromRow(row, profileColumns))
  }

  return {
    insert: async (user) => {
      await writing(async () => { await knex(tables.users).insert(userToRow(user, profileColumns)) })
    },

    findById: async (id) => unmatchable(id) ? undefined : await guarded(async () => await findUser(knex, { id })),

    findByUsername: async (username) => await guarded(async () => {
      // Exactly this spelling, whatever the column's collation (MySQL's default ignores case and accents).
      const user = await findUser(knex, { username })
      return user?.username === username ? user : undefined
    }),

    findByEmail: async (email) => await guarded(async () => {
      const user = await findUser(knex, { email })
      return user?.email === email ? user : undefined
    }),

    // No username or email holds a NUL: such a search finds nobody.
    list: async (query) => unmatchable(query.search) ? [] : await guarded(async () => await list(query)),

    update: async (id, { set, expect, revokeTokens }) => await writing(async () => await knex.transaction(async (trx) => {
      if (unmatchable(id)) return undefined
      // token_version is always assigned (+0 without revokeTokens), so the SET is never
      // empty. mysql2 reports rows matched (its default FOUND_ROWS flag), so an update
      // that changes nothing still counts as applied.
      const updated = await applyExpect(trx(tables.users).where({ id }), expect).update({
        ...userChangesToRow(set, profileColumns),
        token_version: trx.raw('?? + ?', ['token_version', revokeTokens === undefined ? 0 : 1]),
        ...(revokeTokens === undefined ? {} : { updated_at: seconds(revokeTokens.now) })
      })
      if (updated !== 1) return undefined
      const user = await findUser(trx, { id }) as UserRecord
      if (revokeTokens !== undefined) {
        const { now, expiresAt } = revokeTokens
        await trx(tables.refreshFamilies).where({ user_id: id }).whereNull('revoked_at').update({ revoked_at: seconds(now) })
        // Under the user's lock, which apiKeys.insert takes first too: no key is created behind it.
        if (set.disabled === true) await trx(tables.apiKeys).where({ user_id: id }).whereNull('revoked_at').update({ revoked_at: seconds(now) })
        await appendRevocation(trx, { kind: 'user', subject: id, version: user.tokenVersion, expiresAt }, now)
      }
      return user
    })),

    delete: async (id, { now, expiresAt }) => unmatchable(id)
      ? false
      : await guarded(async () => await knex.transaction(async (trx) => {
        const bumped = await trx(tables.users).where({ id }).update({ token_version: trx.raw('?? + 1', ['token_version']) })
        if (bumped !== 1) return false
        const { token_version: version } = await trx(tables.users).where({ id }).first('token_version')
        await trx(tables.refreshTokens).whereIn('family_id', trx(tables.refreshFamilies).select('id').where({ user_id: id })).delete()
        await trx(tables.refreshFamilies).where({ user_id: id }).delete()
        await trx(tables.accountTokens).where({ user_id: id }).delete()
        for (const table of [tables.apiKeys, tables.totpFactors, tables.recoveryCodes, tables.passkeys, tables.challenges]) {
          await trx(table).where({ user_id: id }).delete()
        }
        await trx(tables.users).where({ id }).delete()
        await appendRevocation(trx, { kind: 'user', subject: id, version: Number(version), expiresAt }, now)
        return true
      }))
  }
}
