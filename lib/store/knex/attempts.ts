import type { Knex } from 'knex'
import type { AttemptCounter, AttemptWrite, LoginAttemptPort } from '../ports.js'
import { counterFromRow, counterToRow, seconds } from './rows.js'
import { guarded, retryingConflicts } from './store-errors.js'
import type { TableNames } from './table-names.js'

// Marks the row update() inserts to have something to lock: never a real counter
// (counts are never negative), never left behind once the transaction ends.
const PLACEHOLDER_COUNT = -1

/**
 * Throttling counters, one row per key. update() is a read-modify-write under row locks:
 * it first upserts a row per key in sorted order (a new key gets a placeholder; an
 * existing one is "updated" to itself), which takes the row lock at once on PostgreSQL
 * and MySQL (an exclusive lock, where INSERT IGNORE would take a shared one and two
 * transactions upgrading it would deadlock) and the write lock on SQLite. Every other
 * update of these keys waits behind it until it commits, and then reads what it wrote.
 */
export function knexAttemptPort (knex: Knex, tables: TableNames): LoginAttemptPort {
  const table = tables.loginAttempts

  async function lockedUpdate<T> (trx: Knex.Transaction, keys: readonly string[], decide: (current: ReadonlyMap<string, AttemptCounter>) => AttemptWrite<T>): Promise<T> {
    const locked = [...new Set(keys)].sort()
    const current = new Map<string, AttemptCounter>()
    if (locked.length > 0) {
      await trx(table)
        .insert(locked.map((key) => ({ key, count: PLACEHOLDER_COUNT, window_started_at: 0, locked_until: 0, last_attempt_at: 0 })))
        .onConflict('key')
        .merge({ key: trx.raw('??', [`${table}.key`]) })
      for (const row of await trx(table).whereIn('key', locked).forUpdate()) {
        if (Number(row.count) !== PLACEHOLDER_COUNT) current.set(String(row.key), counterFromRow(row))
      }
    }
    const { write, remove = [], result } = decide(current)
    // One row per key (the last written wins): an upsert may not touch a row twice.
    const rows = [...new Map(write.map((counter) => [counter.key, counterToRow(counter)])).values()]
    if (rows.length > 0) await trx(table).insert(rows).onConflict('key').merge()
    if (remove.length > 0) await trx(table).whereIn('key', remove).delete()
    if (locked.length > 0) await trx(table).whereIn('key', locked).where('count', PLACEHOLDER_COUNT).delete()
    return result
  }

  return {
    update: async (keys, decide) => await guarded(async () => await retryingConflicts(async () => await knex.transaction(async (trx) => await lockedUpdate(trx, keys, decide)))),

    prune: async (idleBefore) => await guarded(async () => await knex(table).where('last_attempt_at', '<', seconds(idleBefore)).delete())
  }
}
