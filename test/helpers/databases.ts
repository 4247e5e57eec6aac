import knex, { type Knex } from 'knex'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'

export type DatabaseName = 'sqlite' | 'postgres' | 'mysql'

export interface TestDatabase {
  name: DatabaseName
  /** A table prefix of its own, so runs never collide. */
  prefix: string
  /** Opens another knex pool on the same database (another "instance"). */
  connect: () => Knex
  knex: Knex
}

export interface DatabaseTarget {
  name: DatabaseName
  /** Why this database is skipped here, or false when it runs. */
  skip: string | false
}

/**
 * SQLite always; PostgreSQL and MariaDB/MySQL when TEST_PG_URL / TEST_MYSQL_URL are set
 * (CI sets both, so there they run and fail loudly when the server is unreachable).
 */
export function databaseTargets (): DatabaseTarget[] {
  return [
    { name: 'sqlite', skip: false },
    { name: 'postgres', skip: process.env.TEST_PG_URL === undefined ? 'TEST_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)' : false },
    { name: 'mysql', skip: process.env.TEST_MYSQL_URL === undefined ? 'TEST_MYSQL_URL is not set (e.g. mysql://root@127.0.0.1:3306/test)' : false }
  ]
}

/** The server URL of a database target, from the environment. */
export function serverUrl (name: 'postgres' | 'mysql'): string {
  return (name === 'postgres' ? process.env.TEST_PG_URL : process.env.TEST_MYSQL_URL) as string
}

/** knex settings for a database; a short acquire timeout so an outage fails fast. */
export function knexConfig (name: DatabaseName, target: string): Knex.Config {
  const shared = { pool: { min: 0, max: 10 }, acquireConnectionTimeout: 3000 }
  if (name === 'postgres') return { client: 'pg', connection: target, ...shared }
  if (name === 'mysql') return { client: 'mysql2', connection: target, ...shared }
  return sqliteConfig(target)
}

function sqliteConfig (sqliteFile: string): Knex.Config {
  return {
    client: 'sqlite3',
    connection: { filename: sqliteFile },
    useNullAsDefault: true,
    pool: {
      // Several pools share one file in the multi-instance tests: wait for locks instead of failing.
      afterCreate (connection: { run: (sql: string, callback: (error: Error | null) => void) => void }, done: (error: Error | null, connection: unknown) => void) {
        connection.run('PRAGMA busy_timeout = 10000', (error) => {
          if (error !== null) return done(error, connection)
          connection.run('PRAGMA journal_mode = WAL', (walError) => { done(walError, connection) })
        })
      }
    }
  }
}

/** Opens a database for one test and registers its cleanup: tables dropped, pools closed, files removed. */
export async function openDatabase (t: { teardown: (fn: () => Promise<void>) => void }, name: DatabaseName): Promise<TestDatabase> {
  const folder = await mkdtemp(join(tmpdir(), 'fta-db-'))
  const prefix = `t${randomBytes(4).toString('hex')}_`
  const pools: Knex[] = []
  const connect = (): Knex => {
    const pool = knex(knexConfig(name, name === 'sqlite' ? join(folder, 'auth.sqlite') : serverUrl(name)))
    pools.push(pool)
    return pool
  }
  const main = connect()
  t.teardown(async () => {
    for (const table of ['users', 'refresh_families', 'refresh_tokens', 'revocations', 'login_attempts', 'login_failures', 'account_tokens', 'api_keys', 'totp_factors', 'recovery_codes', 'passkeys', 'challenges', 'migrations', 'migrations_lock']) {
      await main.schema.dropTableIfExists(`${prefix}${table}`)
    }
    await Promise.all(pools.map(async (pool) => { await pool.destroy() }))
    await rm(folder, { recursive: true, force: true })
  })
  return { name, prefix, connect, knex: main }
}
