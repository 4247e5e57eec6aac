import type { Knex } from 'knex'
import type { ListenConnection } from './channel-listener.js'
import type { TableNames } from './table-names.js'

/** Whether the pool talks to PostgreSQL through node-postgres, which can LISTEN. */
export const isPostgres = (knex: Knex): boolean => (knex.client as { driverName?: unknown }).driverName === 'pg'

/** The NOTIFY channel of a revocations table: an identifier of at most 44 bytes (the prefix has at most 24). */
export const revocationChannel = (tables: Pick<TableNames, 'revocations'>): string => `${tables.revocations}_appended`

const CONNECT_TIMEOUT_MS = 10_000
// The first keepalive probe after this much silence; pg's default (0) leaves it to the
// system, two hours on Linux, during which a listener cut off silently passes for live.
const KEEPALIVE_DELAY_MS = 10_000

interface PgClientInternals {
  driver: { Client: new (config: object) => ListenConnection }
  /** The pool's resolved settings (knex parses a URL into an object); a connection provider has run by the first query. */
  connectionSettings: object
}

/**
 * Opens a pg Client with the pool's own settings, outside the pool: LISTEN holds its
 * connection for good. Keepalive probes from 10 s of silence, so that a peer that vanished
 * is noticed; a connect timeout, so that one that never answers counts as a failure.
 */
export function postgresListenConnection (knex: Knex): () => ListenConnection {
  return () => {
    const { driver, connectionSettings } = knex.client as unknown as PgClientInternals
    return new driver.Client({ application_name: 'fastify-token-auth revocation push', ...connectionSettings, keepAlive: true, keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  }
}
