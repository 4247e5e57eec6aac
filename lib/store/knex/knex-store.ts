import type { AuthStore, RevocationWatcher } from '../ports.js'
import { knexAccountTokenPort } from './account-tokens.js'
import { knexApiKeyPort } from './api-keys.js'
import { knexAttemptPort } from './attempts.js'
import { knexChallengePort } from './challenges.js'
import { knexFamilyPort } from './families.js'
import { resolveKnexStoreOptions, type KnexStoreOptions } from './knex-store-options.js'
import { knexPasskeyPort } from './passkeys.js'
import { knexRecoveryCodePort } from './recovery-codes.js'
import { knexRevocationPort, revocationAppender } from './revocations.js'
import { isPostgres, postgresListenConnection, revocationChannel } from './postgres-push.js'
import { listenOnChannel } from './channel-listener.js'
import { schemaManager } from './schema.js'
import { guarded } from './store-errors.js'
import { knexTotpPort } from './totp.js'
import { knexUserPort } from './users.js'

/** The knex store: an AuthStore plus the way back from its migrations. */
export interface KnexStore extends AuthStore {
  /** Runs the package's migrations down and drops every table it made, knex's bookkeeping included. */
  rollback: () => Promise<void>
}

export type { KnexStoreOptions }

/**
 * An AuthStore on SQLite, PostgreSQL or MySQL/MariaDB through knex. Several application
 * instances can share one database: every guarantee of the ports is one conditional
 * UPDATE or one transaction under row locks, never a read followed by a write in the
 * caller, so it holds on READ COMMITTED as well as on SQLite's single writer.
 * Any database failure is a StoreUnavailableError (503) with the driver's error as cause.
 */
export function createKnexStore (options: KnexStoreOptions): KnexStore {
  const { knex, tables, profileColumns, migrationLockTimeoutMs, readTimeoutMs, notify } = resolveKnexStoreOptions(options)
  const schema = schemaManager(knex, tables, migrationLockTimeoutMs)
  const channel = notify && isPostgres(knex) ? revocationChannel(tables) : undefined
  const appendRevocation = revocationAppender(tables, channel)
  const watch = channel === undefined ? undefined : (watcher: RevocationWatcher) => listenOnChannel({ open: postgresListenConnection(knex), channel, watcher })
  return {
    profileFields: profileColumns,
    users: knexUserPort(knex, tables, profileColumns, appendRevocation),
    families: knexFamilyPort(knex, tables, appendRevocation),
    revocations: knexRevocationPort(knex, tables, readTimeoutMs, appendRevocation, watch),
    attempts: knexAttemptPort(knex, tables),
    accountTokens: knexAccountTokenPort(knex, tables),
    apiKeys: knexApiKeyPort(knex, tables, profileColumns, appendRevocation),
    totp: knexTotpPort(knex, tables),
    recoveryCodes: knexRecoveryCodePort(knex, tables),
    passkeys: knexPasskeyPort(knex, tables, profileColumns),
    challenges: knexChallengePort(knex, tables),
    migrate: async () => { await guarded(schema.migrate) },
    rollback: async () => { await guarded(schema.rollback) }
  }
}
