import type { Knex } from 'knex'
import { createHash } from 'node:crypto'
import { byCreation } from '../api-key-order.js'
import type { PasskeyPort, PasskeyRecord } from '../ports.js'
import { seconds, userFromRow, type Row } from './rows.js'
import { guarded, isUniqueViolationOf, retryingConflicts } from './store-errors.js'
import type { TableNames } from './table-names.js'
import { unmatchable } from './unmatchable.js'

const PASSKEY_COLUMNS = ['id', 'user_id', 'name', 'public_key', 'counter', 'transports', 'device_type', 'backed_up', 'created_at', 'last_used_at'] as const

// findById reads the passkey's columns beside every column of its user (lower case): an
// alias with an upper-case letter never collides with one of them.
const PASSKEY_ALIAS = 'passkey_'

/** The key a credential id is stored and found by (see the 0006 migration): SHA-256, lower-case hex. */
export const credentialIdHash = (id: string): string => createHash('sha256').update(id).digest('hex')

const passkeyFromRow = (row: Row): PasskeyRecord => ({
  id: String(row.id),
  userId: String(row.user_id),
  name: String(row.name),
  publicKey: String(row.public_key),
  counter: Number(row.counter),
  transports: JSON.parse(String(row.transports)) as string[],
  deviceType: row.device_type as PasskeyRecord['deviceType'],
  backedUp: Boolean(row.backed_up),
  createdAt: Number(row.created_at),
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at)
})

const passkeyToRow = (passkey: PasskeyRecord): Row => ({
  id_hash: credentialIdHash(passkey.id),
  id: passkey.id,
  user_id: passkey.userId,
  name: passkey.name,
  public_key: passkey.publicKey,
  counter: passkey.counter,
  transports: JSON.stringify(passkey.transports),
  device_type: passkey.deviceType,
  backed_up: passkey.backedUp,
  created_at: seconds(passkey.createdAt),
  last_used_at: passkey.lastUsedAt === null ? null : seconds(passkey.lastUsedAt)
})

/**
 * Passkeys, one row per credential, keyed by the SHA-256 of its id. insert takes the
 * user's row lock first, as users.update and users.delete do, so concurrent inserts count
 * one another's passkeys and none lands for a disabled or deleted user; the primary key
 * refuses a credential id that is already stored, by any user. recordUse is one
 * conditional UPDATE of the row on the counter it was checked against: of concurrent
 * calls with one previous counter, exactly one matches.
 */
export function knexPasskeyPort (knex: Knex, tables: TableNames, profileColumns: readonly string[]): PasskeyPort {
  const table = tables.passkeys
  // PostgreSQL names the primary key `<table>_pkey`; MySQL and MariaDB call it PRIMARY; SQLite names the column.
  const primaryKeys = [`${table}_pkey`, 'PRIMARY'].map((index) => ({ table, column: 'id_hash', index }))
  const isDuplicateId = (error: unknown): boolean => primaryKeys.some((key) => isUniqueViolationOf(error, key))

  const ownPasskey = (userId: string, id: string): Knex.QueryBuilder => knex(table).where({ id_hash: credentialIdHash(id), user_id: userId })

  const insert = async (passkey: PasskeyRecord, maxPerUser: number): Promise<boolean> => await retryingConflicts(async () => await knex.transaction(async (trx) => {
    const locked = await trx(tables.users).where({ id: passkey.userId, disabled: false }).update({ token_version: trx.raw('??', ['token_version']) })
    if (locked !== 1) return false
    // A plain read after the lock sees every passkey committed before it (on MySQL's
    // REPEATABLE READ too: the snapshot starts at the first plain read, this one).
    const [{ count }] = await trx(table).where({ user_id: passkey.userId }).count({ count: '*' })
    if (Number(count) >= maxPerUser) return false
    await trx(table).insert(passkeyToRow(passkey))
    return true
  }))

  return {
    insert: async (passkey, maxPerUser) => unmatchable(passkey.userId)
      ? false
      : await guarded(async () => {
        try {
          return await insert(passkey, maxPerUser)
        } catch (error) {
          if (isDuplicateId(error)) return false
          throw error
        }
      }),

    findById: async (id) => await guarded(async () => {
      const found = knex(`${table} as passkey`).join(`${tables.users} as owner`, 'owner.id', 'passkey.user_id')
      const row = await found.where('passkey.id_hash', credentialIdHash(id))
        .first('owner.*', ...PASSKEY_COLUMNS.map((column) => `passkey.${column} as ${PASSKEY_ALIAS}${column}`))
      if (row === undefined) return undefined
      const passkeyRow = Object.fromEntries(PASSKEY_COLUMNS.map((column) => [column, row[`${PASSKEY_ALIAS}${column}`]]))
      return { passkey: passkeyFromRow(passkeyRow), user: userFromRow(row, profileColumns) }
    }),

    // Sorted here: no collation orders ids by code unit on every database.
    listByUser: async (userId) => unmatchable(userId)
      ? []
      : await guarded(async () => (await knex(table).where({ user_id: userId })).map(passkeyFromRow).sort(byCreation)),

    // mysql2 reports rows matched: a rename to the same name counts as done.
    rename: async (userId, id, name) => unmatchable(userId)
      ? false
      : await guarded(async () => await ownPasskey(userId, id).update({ name }) === 1),

    remove: async (userId, id) => unmatchable(userId)
      ? false
      : await guarded(async () => await ownPasskey(userId, id).delete() === 1),

    recordUse: async (id, { previousCounter, counter, backedUp, now }) => await guarded(async () => await knex(table)
      .where({ id_hash: credentialIdHash(id), counter: previousCounter })
      .update({ counter, backed_up: backedUp, last_used_at: seconds(now) }) === 1)
  }
}
