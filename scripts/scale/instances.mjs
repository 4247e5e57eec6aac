// The example app's instances, each its own process on the phase's database, and the users
// the driver signs in as.
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import knex from 'knex'
import { createKnexStore } from 'fastify-token-auth/knex'
import { say } from './log.mjs'

export const PASSWORD = 'scale-test-password-0123'
const SERVER = new URL('../../example-app/dist/server.js', import.meta.url).pathname
// Every instance signs and checks with the same secrets, as a real deployment's would.
const TOKEN_SECRET = randomBytes(48).toString('base64url')
const MFA_KEY = randomBytes(32).toString('base64url')

// Every child process started and not yet gone (instances, the cost benchmark), for the cleanup on failure or Ctrl-C.
export const running = new Set()

function startInstance (index, databaseUrl, settings, push) {
  const child = spawn(process.execPath, [SERVER], {
    // Production requires a mail server and a public address; the run sends no mail, so none listens there.
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      REPORTS_PORT: 'off',
      DATABASE_URL: databaseUrl,
      TOKEN_SECRET,
      MFA_KEY,
      DEMO_PASSWORD: PASSWORD,
      LOG_LEVEL: 'warn',
      MAIL_URL: 'smtp://127.0.0.1:1',
      PUBLIC_URL: 'https://app.example.test',
      // The driver is a proxy for many clients: X-Forwarded-For names each one.
      TRUST_PROXY: '127.0.0.1',
      REVOCATION_PUSH: push ? 'true' : 'false',
      REVOCATION_SYNC_INTERVAL: `${settings.syncIntervalMs}ms`,
      REVOCATION_MAX_STALENESS: `${settings.maxStalenessMs}ms`,
      BCRYPT_COST: String(settings.bcryptCost),
      DATABASE_POOL_MAX: String(settings.poolMax)
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)
  child.on('exit', () => { running.delete(child) })
  child.errorLines = 0
  child.stderr.on('data', (chunk) => { process.stderr.write(`[instance ${index}] ${chunk}`) })
  const origin = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /Open (http:\/\/[^/]+)\//.exec(line)
      if (match !== null) resolve(match[1])
      else if (/"level":(50|60)/.test(line)) {
        // Counted for the checks; the first few shown, shortened.
        if (++child.errorLines <= 3) console.error(`[instance ${index}] ${line.slice(0, 400)}`)
      }
    })
    child.on('exit', (code) => reject(new Error(`instance ${index} exited with ${code} before listening`)))
  })
  return { child, origin }
}

/** The first instance migrates and creates the demo users; the others start together once it listens. */
export async function startInstances (count, databaseUrl, settings, push) {
  const first = startInstance(0, databaseUrl, settings, push)
  const origins = [await first.origin]
  const rest = Array.from({ length: count - 1 }, (_, i) => startInstance(i + 1, databaseUrl, settings, push))
  origins.push(...await Promise.all(rest.map((instance) => instance.origin)))
  return { origins, children: [first.child, ...rest.map((instance) => instance.child)] }
}

/** SIGTERM, then SIGKILL for any instance still there after the shutdown timeout. */
export async function stopInstances (children) {
  await Promise.all(children.map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 12_000)
    await exited
    clearTimeout(timer)
  }))
}

export function killAll () {
  for (const child of running) child.kill('SIGKILL')
}

// Even when the driver dies of an uncaught error, no instance outlives it.
process.on('exit', killAll)

/**
 * Copies of the demo user `viewer` (same password hash, so no bcrypt here), one per name:
 * logins of one account are limited per instance, so every virtual user has its own.
 */
export async function createUsers (databaseUrl, names) {
  const db = knex({ client: 'pg', connection: databaseUrl, pool: { min: 0, max: 2 } })
  try {
    const store = createKnexStore({ knex: db })
    const viewer = await store.users.findByUsername('viewer')
    if (viewer === undefined) throw new Error('the demo user "viewer" is missing: did the first instance create the demo users?')
    for (const name of names) {
      await store.users.insert({ ...viewer, id: randomUUID(), username: name, email: `${name}@example.com` })
    }
  } finally {
    await db.destroy()
  }
  say(`${names.length} users created`)
}
