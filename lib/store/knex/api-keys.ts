import type { Knex } from 'knex'
import { byCreation } from '../api-key-order.js'
import type { ApiKeyPort } from '../ports.js'
import { whereExactly } from './exact-match.js'
import type { AppendRevocation } from './revocations.js'
import { apiKeyFromRow, apiKeyToRow, seconds, userFromRow, type Row } from './rows.js'
import { guarded, retryingConflicts } from './store-errors.js'
import type { TableNames } from './table-names.js'
import { unmatchable } from './unmatchable.js'

const KEY_COLUMNS = ['id', 'user_id', 'name', 'hash', 'start', 'scopes', 'created_at', 'expires_at', 'last_used_at', 'revoked_at', 'created_by_session'] as const

// findByHash reads the key's columns beside every column of its user, profile columns
// included. Those are lower case (built in, or checked so): an alias with an upper-case
// letter can never collide with one of them.
const KEY_ALIAS = 'apiKey_'

/**
 * API keys, one row per key. Every change to which keys a user holds (insert, revoke
 * all) first takes the user's row with a no-op conditional UPDATE: the row lock on
 * PostgreSQL and MySQL, the write lock on SQLite, as `users.update` and `users.delete`
 * do first too. So a key inserted while its user is disabled or deleted either commits
 * before (and is revoked or deleted with the user) or finds the user gone and writes
 * nothing, and concurrent inserts count one another's keys. One key's revoke is a
 * conditional UPDATE of its row: of concurrent ones, exactly one matches.
 */
export function knexApiKeyPort (knex: Knex, tables: TableNames, profileColumns: readonly string[], appendRevocation: AppendRevocation): ApiKeyPort {
  const table = tables.apiKeys

  /** Locks the user's row, when it matches `where`; how many rows matched (0 or 1). */
  const lockUser = async (trx: Knex.Transaction, userId: string, where: Row = {}): Promise<number> =>
    await trx(tables.users).where({ ...where, id: userId }).update({ token_version: trx.raw('??', ['token_version']) })

  const liveKey = (db: Knex | Knex.Transaction, userId: string, id: string): Knex.QueryBuilder =>
    whereExactly(db(table).where({ user_id: userId }).whereNull('revoked_at'), 'id', id)

  /** Runs a write transaction, again when the database gave it up in a deadlock or found its lock busy. */
  const writing = async <T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
    await guarded(async () => await retryingConflicts(async () => await knex.transaction(work)))

  return {
    insert: async (key, maxPerUser) => unmatchable(key.userId)
      ? false
      : await writing(async (trx) => {
        if (await lockUser(trx, key.userId, { disabled: false }) !== 1) return false
        // A plain read after the lock sees every key committed before it (on MySQL's
        // REPEATABLE READ too: the snapshot starts at the first plain read, this one).
        const [{ count }] = await trx(table).where({ user_id: key.userId }).whereNull('revoked_at').count({ count: '*' })
        if (Number(count) >= maxPerUser) return false
        await trx(table).insert(apiKeyToRow(key))
        return true
      }),

    findByHash: async (hash) => unmatchable(hash)
      ? undefined
      : await guarded(async () => {
        const found = knex(`${table} as api_key`).join(`${tables.users} as owner`, 'owner.id', 'api_key.user_id')
        const row = await whereExactly(found, 'api_key.hash', hash)
          .first('owner.*', ...KEY_COLUMNS.map((column) => `api_key.${column} as ${KEY_ALIAS}${column}`))
        if (row === undefined) return undefined
        const keyRow = Object.fromEntries(KEY_COLUMNS.map((column) => [column, row[`${KEY_ALIAS}${column}`]]))
        return { key: apiKeyFromRow(keyRow), user: userFromRow(row, profileColumns) }
      }),

    // Sorted here: no collation orders ids by code unit on every database.
    listByUser: async (userId) => unmatchable(userId)
      ? []
      : await guarded(async () => (await knex(table).where({ user_id: userId }).whereNull('revoked_at')).map(apiKeyFromRow).sort(byCreation)),

    // mysql2 reports rows matched: a rename to the same name counts as done.
    rename: async (userId, id, name) => unmatchable(userId, id)
      ? false
      : await guarded(async () => await liveKey(knex, userId, id).update({ name }) === 1),

    revoke: async (userId, id, now, revocationExpiresAt) => unmatchable(userId, id)
      ? false
      : await writing(async (trx) => {
        if (await liveKey(trx, userId, id).update({ revoked_at: seconds(now) }) !== 1) return false
        await appendRevocation(trx, { kind: 'token', subject: id, version: 0, expiresAt: revocationExpiresAt }, now)
        return true
      }),

    revokeAllByUser: async (userId, now, revocationExpiresAt) => unmatchable(userId)
      ? []
      : await writing(async (trx) => {
        // The user's lock first (SQLite's write lock before its read), then each live key's
        // row lock: a key another transaction revoked meanwhile is re-read and left out,
        // so no id is reported by two callers (PostgreSQL and MySQL re-check the WHERE of
        // a locking read against the latest version).
        await lockUser(trx, userId)
        const ids = (await trx(table).where({ user_id: userId }).whereNull('revoked_at').forUpdate().select('id')).map((row: Row) => String(row.id))
        if (ids.length === 0) return []
        await trx(table).whereIn('id', ids).update({ revoked_at: seconds(now) })
        for (const id of ids) await appendRevocation(trx, { kind: 'token', subject: id, version: 0, expiresAt: revocationExpiresAt }, now)
        return ids
      }),

    // One row per statement, each committed on its own: the flush never holds one key's
    // lock while waiting for another's, so it cannot deadlock with a disable or a revoke-all.
    recordUse: async (uses) => {
      await guarded(async () => {
        for (const { id, lastUsedAt } of uses.filter((use) => !unmatchable(use.id))) {
          const at = seconds(lastUsedAt)
          await whereExactly(knex(table), 'id', id)
            .where((older) => { older.whereNull('last_used_at').orWhere('last_used_at', '<', at) })
            .update({ last_used_at: at })
        }
      })
    },

    prune: async (now) => await guarded(async () => {
      const at = seconds(now)
      return await knex(table).where('revoked_at', '<=', at).orWhere('expires_at', '<=', at).delete()
    })
  }
}
