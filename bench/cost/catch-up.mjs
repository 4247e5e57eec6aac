// A cold instance's first sync: a RevocationSync starting empty against a store that
// already holds n revocations. PostgreSQL (TEST_PG_URL or SCALE_PG_URL) with tables under
// a random prefix, dropped at the end; otherwise an in-memory SQLite database.
// Also reads the same rows in raw pages of 500 and 5000, to show what page round trips cost.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import knex from 'knex'
import { createKnexStore } from '../../dist/esm/lib/store/knex/knex-store.js'
import { RevocationList } from '../../dist/esm/lib/sessions/revocation-list.js'
import { RevocationSync } from '../../dist/esm/lib/sessions/revocation-sync.js'
import { systemClock } from '../../dist/esm/lib/clock.js'

function database () {
  const url = process.env.SCALE_PG_URL || process.env.TEST_PG_URL
  if (url) return { name: 'PostgreSQL', db: knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } }) }
  return { name: 'SQLite (in memory)', db: knex({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1 } }) }
}

// 90 % token, 8 % session, 2 % user, as in mix.mjs; created an hour ago, live for the TTL.
async function bulkInsert (name, db, table, n, now) {
  const kind = "case when i % 50 = 0 then 'user' when i % 50 < 5 then 'session' else 'token' end"
  const columns = '(kind, subject, version, expires_at, created_at)'
  const values = `${kind}, 'subject-' || i, case when i % 50 = 0 then 1 else 0 end, ${now + 60} + i % 900, ${now - 3600}`
  if (name === 'PostgreSQL') {
    await db.raw(`insert into ${table} ${columns} select ${values} from generate_series(1, ?) as s(i)`, [n])
  } else {
    await db.raw(`with recursive s(i) as (select 1 union all select i + 1 from s where i < ?) insert into ${table} ${columns} select ${values} from s`, [n])
  }
}

async function readAll (feed, pageSize) {
  const began = performance.now()
  const list = new RevocationList()
  let afterId = 0
  let page
  do {
    page = await feed.list({ afterId, limit: pageSize })
    for (const row of page) list.add(row)
    if (page.length > 0) afterId = page[page.length - 1].id
  } while (page.length === pageSize)
  return (performance.now() - began) / 1000
}

/**
 * The same catch-up under the package's defaults (maxStaleness 1 s, so each poll is abandoned
 * after 0.5 s; a poll every 250 ms): how many polls and how long until the list is fresh.
 * An abandoned poll keeps what it applied, so each one gets further.
 */
async function withDefaultTimeouts (feed) {
  const list = new RevocationList()
  let failed = 0
  const sync = new RevocationSync({
    feed,
    list,
    clock: systemClock,
    intervalMs: 250,
    maxStalenessMs: 1000,
    gapTimeoutMs: 60_000,
    onStatusChange: (healthy) => { if (!healthy) failed++ }
  })
  const began = performance.now()
  let polls = 0
  while (polls < 200) {
    polls++
    await sync.syncOnce()
    if (sync.isFresh()) break
    await sleep(250)
  }
  return { polls, seconds: (performance.now() - began) / 1000, fresh: sync.isFresh(), size: list.size, abandoned: failed }
}

export async function run ({ n }) {
  const { name, db } = database()
  const prefix = `cost_${randomBytes(4).toString('hex')}_`
  const store = createKnexStore({ knex: db, tablePrefix: prefix })
  try {
    await store.migrate()
    const now = Math.floor(Date.now() / 1000)
    const inserting = performance.now()
    await bulkInsert(name, db, `${prefix}revocations`, n, now)
    // A table that has been in use is vacuumed; a fresh bulk insert would make the first
    // reader set every row's hint bits, a one-off write that no real instance pays.
    if (name === 'PostgreSQL') await db.raw(`vacuum analyze ${prefix}revocations`)
    process.stderr.write(`    ${n} rows inserted in ${((performance.now() - inserting) / 1000).toFixed(1)} s\n`)
    // Warm-up read (JIT, the database's caches), so that the first measured read is not the only cold one.
    await readAll(store.revocations, 500)
    const list = new RevocationList()
    let failure
    const sync = new RevocationSync({
      feed: store.revocations,
      list,
      clock: systemClock,
      intervalMs: 1000,
      maxStalenessMs: 3_600_000,
      gapTimeoutMs: 60_000,
      // Long enough for any n here: the catch-up is measured, not cut short (see the report).
      pollTimeoutMs: 600_000,
      onStatusChange: (healthy, error) => { if (!healthy) failure = error }
    })
    const began = performance.now()
    await sync.syncOnce()
    const seconds = (performance.now() - began) / 1000
    if (failure !== undefined) throw failure
    const defaults = await withDefaultTimeouts(store.revocations)
    const page500 = await readAll(store.revocations, 500)
    const page5000 = await readAll(store.revocations, 5000)
    return { n, database: name, size: list.size, fresh: sync.isFresh(), seconds, perSecond: n / seconds, page500, page5000, defaults }
  } finally {
    await store.rollback().catch(() => {})
    await db.destroy()
  }
}
