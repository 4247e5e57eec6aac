import knex, { type Knex } from 'knex'
import { dirname } from 'node:path'
import { createPrivateFile, createPrivateFolder } from './private-files.js'

// SQLite's names for a database that lives in no file.
const NOT_A_FILE = new Set([':memory:', ''])

/**
 * A knex pool for DATABASE_URL. SQLite gets WAL and a busy timeout, so that several
 * processes may share the file; every pool gets a short acquire timeout, so that
 * requests fail fast (503) instead of hanging while the database is down. At most poolMax
 * connections (PostgreSQL, MySQL): instances sharing one server divide its connection limit.
 * A new SQLite file is created 0600 (its folder 0700) before SQLite opens it: SQLite
 * gives its -wal, -shm and -journal files the database file's mode.
 */
export async function openDatabase (url: string, poolMax = 10): Promise<Knex> {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length)
    if (!NOT_A_FILE.has(filename)) {
      await createPrivateFolder(dirname(filename))
      await createPrivateFile(filename)
    }
    return knex({
      client: 'sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      acquireConnectionTimeout: 5000,
      pool: {
        afterCreate (connection: { exec: (sql: string, done: (error: Error | null) => void) => void }, done: (error: Error | null, connection: unknown) => void) {
          connection.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;', (error) => { done(error, connection) })
        }
      }
    })
  }
  const client = url.startsWith('mysql:') ? 'mysql2' : 'pg'
  return knex({ client, connection: url, acquireConnectionTimeout: 5000, pool: { min: 0, max: poolMax } })
}
