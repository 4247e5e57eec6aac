import type { Knex } from 'knex'
import { setTimeout as sleep } from 'node:timers/promises'
import { toSeconds, type Duration } from '../../duration.js'
import { InvalidOptionError, UserNotFoundError, UsernameTakenError } from '../../errors.js'
import type { Revocation } from '../../sessions/revocation-list.js'
import { tryNormaliseUsername } from '../../users/username.js'
import { RevocationListeners } from '../revocation-listeners.js'
import { hashNewPassword, prepareUser, resolveStoreOptions, type StoreOptions } from '../store-options.js'
import type { UserStore } from '../user-store.js'
import { ensureMigrationLock, PackagedMigrationSource } from './migrations.js'
import { refreshTokenFromRow, refreshTokenToRow, revocationFromRow, userFromRow, userToRow } from './rows.js'
import { guarded, isUniqueViolation } from './store-errors.js'
import { tableNames } from './table-names.js'

/** The knex store: a UserStore plus the way back from its migrations. */
export interface KnexUserStore extends UserStore {
  /** Runs the package's migrations down: drops its tables (and their data). */
  rollback: () => Promise<void>
}

export interface KnexUserStoreOptions extends StoreOptions {
  /** A knex instance the application owns: the store never destroys it. */
  knex: Knex
  /** Prefix of every table name. Default 'auth_'. */
  tablePrefix?: string
  /** How long migrate() waits for another instance's migration to finish. Default '30s'. */
  migrationLockTimeout?: Duration
}

const MIGRATION_RETRY_DELAY_MS = 250

// What a migration that lost the race to another instance fails with: knex's lock, the
// other instance's CREATE TABLE of knex's bookkeeping tables landing first, or SQLite
// refusing a second writer.
function isMigrationRace (error: unknown, migrationsTable: string): boolean {
  const message = String((error as Error).message)
  return /is already locked|SQLITE_BUSY/.test(message) || (/already exists|duplicate|unique/i.test(message) && message.includes(migrationsTable))
}

const seconds = (): number => Math.floor(Date.now() / 1000)

/**
 * A UserStore on any database knex speaks (SQLite, PostgreSQL, MySQL/MariaDB, …).
 * Several application instances can share one database: every check-and-change is a
 * single conditional statement or a transaction, never a read-then-write race.
 */
export function createKnexUserStore (options: KnexUserStoreOptions): KnexUserStore {
  if (typeof options !== 'object' || options === null || typeof options.knex !== 'function') {
    throw new InvalidOptionError('createKnexUserStore needs { knex }, a knex instance')
  }
  const { knex } = options
  const resolved = resolveStoreOptions(options)
  const tables = tableNames(options.tablePrefix ?? 'auth_')
  const { profileColumns } = resolved
  const migrationLockTimeoutMs = toSeconds(options.migrationLockTimeout ?? '30s', 'migrationLockTimeout') * 1000
  const listeners = new RevocationListeners()
  const migrationConfig = { migrationSource: new PackagedMigrationSource(tables), tableName: tables.migrations }

  /** Runs `work` in a transaction and tells listeners about its revocations once it committed. */
  async function revokingTransaction<T> (work: (trx: Knex.Transaction, revoke: (revocation: Revocation) => Promise<void>) => Promise<T>): Promise<T> {
    const committed: Revocation[] = []
    const result = await knex.transaction(async (trx) => {
      committed.length = 0
      return await work(trx, async (revocation) => {
        const { kind, subject, version, expiresAt } = revocation
        await trx(tables.revocations).insert({ kind, subject, version, expires_at: Math.ceil(expiresAt), created_at: seconds() })
        committed.push(revocation)
      })
    })
    listeners.notify(committed)
    return result
  }

  async function findUser (where: Record<string, string>): Promise<ReturnType<typeof userFromRow> | undefined> {
    const row = await knex(tables.users).where(where).first()
    return row === undefined ? undefined : userFromRow(row, profileColumns)
  }

  /**
   * Raises the user's token version (only while `condition` holds), revokes their refresh
   * tokens and records the revocation, inside `trx`. False when the condition did not hold.
   */
  async function bumpTokenVersion (trx: Knex.Transaction, id: string, revoke: (revocation: Revocation) => Promise<void>, changes: Record<string, unknown> = {}, condition: Record<string, unknown> = {}): Promise<boolean> {
    const now = seconds()
    const updated = await trx(tables.users).where({ ...condition, id }).update({ ...changes, token_version: trx.raw('?? + 1', ['token_version']), updated_at: now })
    if (updated !== 1) {
      if (await trx(tables.users).where({ id }).first('id') === undefined) throw new UserNotFoundError()
      return false
    }
    const { token_version: version } = await trx(tables.users).where({ id }).first('token_version')
    await trx(tables.refreshTokens).where({ user_id: id }).whereNull('revoked_at').update({ revoked_at: now })
    await revoke({ kind: 'user', subject: id, version: Number(version), expiresAt: now + resolved.userRevocationRetentionSeconds })
    return true
  }

  return {
    passwordHasher: resolved.passwordHasher,
    userRevocationRetentionSeconds: resolved.userRevocationRetentionSeconds,

    async rollback () {
      await knex.migrate.rollback(migrationConfig, true)
    },

    async migrate () {
      // Several instances starting together race for knex's migration lock: the losers
      // wait for the winner to finish and then find nothing left to do.
      const giveUpAt = Date.now() + migrationLockTimeoutMs
      for (;;) {
        try {
          await ensureMigrationLock(knex, tables)
          await knex.migrate.latest(migrationConfig)
          return
        } catch (error) {
          if (Date.now() >= giveUpAt || !isMigrationRace(error, tables.migrations)) throw error
          await sleep(MIGRATION_RETRY_DELAY_MS)
        }
      }
    },

    async createUser (input) {
      const user = await prepareUser(input, resolved, seconds())
      return await guarded(async () => {
        try {
          await knex(tables.users).insert(userToRow(user))
        } catch (error) {
          if (isUniqueViolation(error)) throw new UsernameTakenError()
          throw error
        }
        return user
      })
    },

    findUserById: async (id) => await guarded(async () => await findUser({ id: String(id) })),

    async findUserByUsername (username) {
      const normalised = tryNormaliseUsername(username)
      if (normalised === undefined) return undefined
      return await guarded(async () => await findUser({ username: normalised }))
    },

    replacePasswordHash: async (id, previousHash, newHash) => await guarded(async () => {
      await knex(tables.users).where({ id, password_hash: previousHash }).update({ password_hash: newHash, updated_at: seconds() })
    }),

    async changePassword (id, newPassword) {
      const passwordHash = await hashNewPassword(newPassword, resolved)
      return await guarded(async () => {
        await revokingTransaction(async (trx, revoke) => { await bumpTokenVersion(trx, id, revoke, { password_hash: passwordHash }) })
        return await findUser({ id }) as ReturnType<typeof userFromRow>
      })
    },

    setDisabled: async (id, disabled) => await guarded(async () => {
      await revokingTransaction(async (trx, revoke) => {
        if (disabled) {
          await bumpTokenVersion(trx, id, revoke, { disabled: true }, { disabled: false })
          return
        }
        const updated = await trx(tables.users).where({ id }).update({ disabled: false, updated_at: seconds() })
        if (updated !== 1) throw new UserNotFoundError()
      })
    }),

    revokeUserTokens: async (id) => await guarded(async () => {
      await revokingTransaction(async (trx, revoke) => { await bumpTokenVersion(trx, id, revoke) })
    }),

    deleteUser: async (id) => await guarded(async () => {
      await revokingTransaction(async (trx, revoke) => {
        await bumpTokenVersion(trx, id, revoke)
        await trx(tables.refreshTokens).where({ user_id: id }).delete()
        await trx(tables.users).where({ id }).delete()
      })
    }),

    insertRefreshToken: async (token) => await guarded(async () => {
      await knex(tables.refreshTokens).insert(refreshTokenToRow(token))
    }),

    findRefreshToken: async (tokenHash) => await guarded(async () => {
      const row = await knex(tables.refreshTokens).where({ token_hash: tokenHash }).first()
      return row === undefined ? undefined : refreshTokenFromRow(row)
    }),

    spendRefreshToken: async (tokenHash, now, successor) => await guarded(async () => {
      const at = Math.floor(now)
      return await knex.transaction(async (trx) => {
        // The conditional UPDATE is the compare-and-spend: of concurrent spends of one
        // token, the database lets exactly one match. It also runs first, so SQLite
        // takes its write lock at once instead of upgrading a read lock (deadlock-prone).
        const spent = await trx(tables.refreshTokens)
          .where({ token_hash: tokenHash }).whereNull('used_at').whereNull('revoked_at').where('expires_at', '>', at)
          .update({ used_at: at })
        const row = await trx(tables.refreshTokens).where({ token_hash: tokenHash }).first()
        if (spent !== 1) return { spent: false as const, token: row === undefined ? undefined : refreshTokenFromRow(row) }
        const token = refreshTokenFromRow(row)
        await trx(tables.refreshTokens).insert(refreshTokenToRow(successor(token)))
        return { spent: true as const, token }
      })
    }),

    revokeSession: async (familyId, now, accessTokensExpireBy) => await guarded(async () => {
      await revokingTransaction(async (trx, revoke) => {
        await trx(tables.refreshTokens).where({ family_id: familyId }).whereNull('revoked_at').update({ revoked_at: Math.floor(now) })
        await revoke({ kind: 'session', subject: familyId, version: 0, expiresAt: accessTokensExpireBy })
      })
    }),

    addRevocation: async (revocation) => await guarded(async () => {
      await revokingTransaction(async (_trx, revoke) => { await revoke(revocation) })
    }),

    onRevocation: (listener) => listeners.add(listener),

    listRevocations: async ({ afterId, beforeId, limit }) => await guarded(async () => {
      const query = knex(tables.revocations).where('id', '>', afterId).orderBy('id')
      if (beforeId !== undefined) query.where('id', '<', beforeId)
      if (limit !== undefined) query.limit(limit)
      return (await query).map(revocationFromRow)
    }),

    loginFailures: async (keys) => await guarded(async () => {
      const rows = await knex(tables.loginFailures).whereIn('key', keys)
      return rows.map((row) => ({
        key: String(row.key),
        failures: Number(row.failures),
        windowStartedAt: Number(row.window_started_at),
        lastFailureAt: Number(row.last_failure_at)
      }))
    }),

    recordLoginFailure: async (keys, now, windowSeconds) => await guarded(async () => {
      const at = Math.floor(now)
      const windowOpenedAfter = at - windowSeconds
      const column = (name: string): string => `${tables.loginFailures}.${name}`
      for (const key of keys) {
        // One upsert per key: the increment happens inside the database, so concurrent
        // failures are all counted. `failures` is assigned first because MySQL evaluates
        // SET left to right and must still see the old window start.
        await knex(tables.loginFailures)
          .insert({ key, failures: 1, window_started_at: at, last_failure_at: at })
          .onConflict('key')
          .merge({
            failures: knex.raw('CASE WHEN ?? <= ? THEN 1 ELSE ?? + 1 END', [column('window_started_at'), windowOpenedAfter, column('failures')]),
            window_started_at: knex.raw('CASE WHEN ?? <= ? THEN ? ELSE ?? END', [column('window_started_at'), windowOpenedAfter, at, column('window_started_at')]),
            last_failure_at: at
          })
      }
    }),

    clearLoginFailures: async (key) => await guarded(async () => {
      await knex(tables.loginFailures).where({ key }).delete()
    }),

    pruneExpired: async (now, failuresBefore) => await guarded(async () => {
      const at = Math.floor(now)
      return {
        refreshTokens: await knex(tables.refreshTokens).where('expires_at', '<=', at).delete(),
        revocations: await knex(tables.revocations).where('expires_at', '<=', at).delete(),
        loginFailures: await knex(tables.loginFailures).where('last_failure_at', '<', Math.floor(failuresBefore)).delete()
      }
    })
  }
}
