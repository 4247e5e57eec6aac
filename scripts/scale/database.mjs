// A database of its own for each phase, so that pg_stat_database counts this run's
// instances and nothing else; dropped at the end (WITH (FORCE): connections left over by
// a crashed instance must not keep it alive).
import { randomBytes } from 'node:crypto'
import knex from 'knex'

const COUNTERS_SQL = `select xact_commit + xact_rollback as transactions,
  tup_returned + tup_fetched as rows_read, tup_inserted + tup_updated + tup_deleted as rows_written
  from pg_stat_database where datname = ?`

export async function createRunDatabase (serverUrl, label) {
  const name = `scale_${randomBytes(4).toString('hex')}_${label}`
  // The server's own connection: its queries go to another database, so they are not counted.
  const admin = knex({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } })
  try {
    await admin.raw(`create database ${name}`)
  } catch (error) {
    await admin.destroy()
    throw new Error(`cannot create the database ${name} on ${redact(serverUrl)}: ${error.message}`)
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  let dropped = false
  return {
    name,
    url: url.href,
    async counters () {
      const { rows } = await admin.raw(COUNTERS_SQL, [name])
      const row = rows[0]
      return { at: performance.now(), transactions: Number(row.transactions), rowsRead: Number(row.rows_read), rowsWritten: Number(row.rows_written) }
    },
    async drop () {
      if (dropped) return
      dropped = true
      try {
        await admin.raw(`drop database if exists ${name} with (force)`)
      } finally {
        await admin.destroy()
      }
    }
  }
}

/** Per second and per instance between two counter snapshots. */
export function perInstanceRates (before, after, instances) {
  const seconds = (after.at - before.at) / 1000
  const rate = (field) => (after[field] - before[field]) / seconds / instances
  return { seconds, transactions: rate('transactions'), rowsRead: rate('rowsRead'), rowsWritten: rate('rowsWritten') }
}

export const redact = (url) => url.replace(/\/\/[^@/]*@/, '//')

export async function serverVersion (serverUrl) {
  const db = knex({ client: 'pg', connection: serverUrl, pool: { min: 0, max: 1 } })
  try {
    const { rows } = await db.raw('show server_version')
    return `PostgreSQL ${rows[0].server_version.split(' ')[0]}`
  } finally {
    await db.destroy()
  }
}
