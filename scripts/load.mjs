// `npm run load`: the example app on PostgreSQL under mixed traffic for LOAD_SECONDS
// (default 60): logins, protected GETs by Bearer header and by cookie, refreshes and
// logouts from concurrent virtual users, plus a steady autocannon stream of protected
// GETs. Passes when there is no 5xx, no socket error, every valid token gets 200, every
// revoked one 401, and the server's RSS at the end is within 15% of its RSS after warm-up.
import autocannon from 'autocannon'
import knex from 'knex'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { createKnexStore } from 'fastify-token-auth/knex'

const SECONDS = Number(process.env.LOAD_SECONDS ?? 60)
// Long enough for the JIT and the heap to settle: a third of the run, at most 20 s.
const WARMUP_SECONDS = Math.min(20, Math.max(2, SECONDS / 3))
const DATABASE_URL = process.env.LOAD_DATABASE_URL ?? process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const VIRTUAL_USERS = 16
const PASSWORD = 'load-test-password-0123'
const TABLE_PREFIX = `load${randomBytes(3).toString('hex')}_`
const say = (message) => { console.log(`${new Date().toISOString().slice(11, 19)} ${message}`) }

async function rssMb (pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024
}

async function startServer () {
  const child = spawn(process.execPath, [new URL('../example-app/dist/server.js', import.meta.url).pathname], {
    // Production requires a mail server, a public address and an MFA key; the load sends no mail, so none listens there.
    env: { ...process.env, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', DATABASE_URL, TABLE_PREFIX, TOKEN_SECRET: randomBytes(48).toString('base64url'), MFA_KEY: randomBytes(32).toString('base64url'), REPORTS_PORT: 'off', DEMO_PASSWORD: PASSWORD, LOG_LEVEL: 'warn', MAIL_URL: 'smtp://127.0.0.1:1', PUBLIC_URL: 'https://app.example.test' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const origin = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /Open (http:\/\/[^/]+)\//.exec(line)
      if (match !== null) resolve(match[1])
      else if (line.includes('"level":50')) console.error(line)
    })
    child.on('exit', (code) => reject(new Error(`the example app exited with ${code} before listening`)))
  })
  return { child, origin }
}

const tally = { requests: 0, status5xx: 0, socketErrors: 0, validRefused: 0, revokedAccepted: 0, unexpected: {}, byKind: {} }

function record (kind, status, expected) {
  tally.requests++
  tally.byKind[kind] = (tally.byKind[kind] ?? 0) + 1
  if (status >= 500) tally.status5xx++
  if (status !== expected) {
    const key = `${kind} ${status} (expected ${expected})`
    tally.unexpected[key] = (tally.unexpected[key] ?? 0) + 1
    if (kind.startsWith('GET valid')) tally.validRefused++
    if (kind === 'GET revoked') tally.revokedAccepted++
  }
}

async function call (origin, kind, expected, path, init = {}) {
  try {
    const res = await fetch(`${origin}${path}`, init)
    const body = res.status === 204 ? null : await res.json()
    record(kind, res.status, expected)
    return { status: res.status, body, cookies: res.headers.getSetCookie() }
  } catch (error) {
    tally.requests++
    tally.socketErrors++
    return { status: 0, body: null, cookies: [] }
  }
}

const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } })

/** One virtual user: log in, use the token by header and cookie, refresh, log out, check the revocation, again. */
async function virtualUser (origin, until) {
  while (Date.now() < until) {
    const login = await call(origin, 'POST login', 200, '/auth/login', json({ username: 'demo', password: PASSWORD, include_refresh_token: true }))
    if (login.status !== 200) continue
    let access = login.body.access_token
    const cookie = login.cookies.find((c) => c.startsWith('__Host-access-token='))?.split(';')[0]
    for (let i = 0; i < 10; i++) await call(origin, 'GET valid header', 200, '/api/me', bearer(access))
    for (let i = 0; i < 5; i++) await call(origin, 'GET valid cookie', 200, '/api/me', { headers: { cookie } })
    const refreshed = await call(origin, 'POST refresh', 200, '/auth/refresh', json({ refresh_token: login.body.refresh_token }))
    if (refreshed.status === 200) access = refreshed.body.access_token
    for (let i = 0; i < 10; i++) await call(origin, 'GET valid header', 200, '/api/me', bearer(access))
    await call(origin, 'POST logout', 204, '/auth/logout', { method: 'POST', ...bearer(access) })
    await call(origin, 'GET revoked', 401, '/api/me', bearer(access))
  }
}

async function main () {
  say(`load: ${SECONDS} s on ${DATABASE_URL.replace(/\/\/[^@]*@/, '//')} (tables ${TABLE_PREFIX}*)`)
  const server = await startServer()
  try {
    // A long-lived session for the steady stream of protected GETs.
    const steady = await call(server.origin, 'POST login', 200, '/auth/login', json({ username: 'viewer', password: PASSWORD }))
    const until = Date.now() + SECONDS * 1000
    const stream = autocannon({ url: `${server.origin}/api/me`, connections: 8, duration: SECONDS, headers: { authorization: `Bearer ${steady.body.access_token}` } })
    const users = Promise.all(Array.from({ length: VIRTUAL_USERS }, async () => { await virtualUser(server.origin, until) }))
    await new Promise((resolve) => setTimeout(resolve, WARMUP_SECONDS * 1000))
    const rssAfterWarmup = await rssMb(server.child.pid)
    say(`warm: RSS ${rssAfterWarmup.toFixed(1)} MB`)
    const rssSamples = [rssAfterWarmup]
    const sampler = setInterval(() => { rssMb(server.child.pid).then((mb) => rssSamples.push(mb), () => {}) }, 5000)
    const [streamResult] = await Promise.all([stream, users])
    clearInterval(sampler)
    const rssAtEnd = await rssMb(server.child.pid)
    tally.requests += streamResult.requests.total
    tally.byKind['GET valid header (autocannon)'] = streamResult.requests.total
    tally.status5xx += streamResult['5xx']
    tally.validRefused += streamResult.non2xx
    tally.socketErrors += streamResult.errors + streamResult.timeouts
    const rssGrowth = (rssAtEnd - rssAfterWarmup) / rssAfterWarmup
    const checks = [
      ['5xx answers', tally.status5xx === 0, tally.status5xx],
      ['socket errors and timeouts', tally.socketErrors === 0, tally.socketErrors],
      ['protected GETs with a valid token not answered 200', tally.validRefused === 0, tally.validRefused],
      ['protected GETs with a revoked token not answered 401', tally.revokedAccepted === 0, tally.revokedAccepted],
      ['RSS at the end within 15% of RSS after warm-up', rssGrowth <= 0.15, `${rssAfterWarmup.toFixed(1)} MB -> ${rssAtEnd.toFixed(1)} MB (${(rssGrowth * 100).toFixed(1)}%)`]
    ]
    console.log(`\nRSS every 5 s after warm-up (MB): ${rssSamples.map((mb) => mb.toFixed(0)).join(' ')}`)
    console.log(`requests: ${tally.requests.toLocaleString('en')} in ${SECONDS} s (${Math.round(tally.requests / SECONDS).toLocaleString('en')}/s)`)
    for (const [kind, count] of Object.entries(tally.byKind)) console.log(`  ${kind.padEnd(32)} ${count.toLocaleString('en')}`)
    if (Object.keys(tally.unexpected).length > 0) console.log('unexpected answers:', tally.unexpected)
    console.log('')
    for (const [name, pass, value] of checks) console.log(`${pass ? 'pass  ' : 'FAILED'} ${name}: ${value}`)
    return checks.every(([, pass]) => pass)
  } finally {
    server.child.kill('SIGTERM')
    await new Promise((resolve) => server.child.on('exit', resolve))
    const db = knex({ client: 'pg', connection: DATABASE_URL })
    await createKnexStore({ knex: db, tablePrefix: TABLE_PREFIX }).rollback()
    await db.schema.dropTableIfExists(`${TABLE_PREFIX}migrations`)
    await db.schema.dropTableIfExists(`${TABLE_PREFIX}migrations_lock`)
    await db.destroy()
  }
}

process.exit(await main() ? 0 : 1)
