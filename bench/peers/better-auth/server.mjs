// better-auth behind Fastify, mounted as its Fastify guide says (a catch-all route turning the
// Fastify request into a Fetch Request for `auth.handler`; a protected route asking
// `auth.api.getSession` with the request's headers), for the HTTP benchmark's comparison rows.
// `node bench/peers/better-auth/server.mjs <default|cookie-cache>`: PostgreSQL (a schema of its
// own, made by better-auth's migrations) when TEST_PG_URL is set, else its memory adapter.
// Prints `database <name>`, then `listening <port>` once ready. GET /bench/credentials signs
// the benchmark user in and answers the Cookie header a browser would send back.
import { randomBytes } from 'node:crypto'
import { betterAuth } from 'better-auth'
import { memoryAdapter } from 'better-auth/adapters/memory'
import { getMigrations } from 'better-auth/db/migration'
import { fromNodeHeaders } from 'better-auth/node'
import Fastify from 'fastify'
import pg from 'pg'

const [mode] = process.argv.slice(2)
if (mode !== 'default' && mode !== 'cookie-cache') throw new Error(`mode is default or cookie-cache, got ${mode}`)
// One schema per mode, so that the two servers can run side by side.
const SCHEMA = `bench_better_auth_${mode.replace('-', '_')}`

async function database () {
  if (process.env.TEST_PG_URL === undefined) {
    return { name: 'memory adapter', database: memoryAdapter({ user: [], session: [], account: [], verification: [] }) }
  }
  // Each run starts from an empty schema: better-auth's migrations create its tables there.
  const setup = new pg.Client({ connectionString: process.env.TEST_PG_URL })
  await setup.connect()
  await setup.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`)
  await setup.end()
  const pool = new pg.Pool({ connectionString: process.env.TEST_PG_URL, options: `-c search_path=${SCHEMA}` })
  return { name: 'PostgreSQL (pg Pool)', database: pool }
}

const { name, database: db } = await database()
const app = Fastify({ logger: false })
// The routes come first (Fastify takes none once listening); `auth` and `origin`, defined once
// listening (the baseURL needs the port), are only read by requests, which come after.
app.route({
  method: ['GET', 'POST'],
  url: '/api/auth/*',
  async handler (request, reply) {
    const url = new URL(request.url, `http://${request.headers.host}`)
    const headers = fromNodeHeaders(request.headers)
    const req = new Request(url.toString(), { method: request.method, headers, ...(request.body ? { body: JSON.stringify(request.body) } : {}) })
    const response = await auth.handler(req)
    reply.status(response.status)
    response.headers.forEach((value, key) => reply.header(key, value))
    return reply.send(response.body ? await response.text() : null)
  }
})

app.get('/me', async (request, reply) => {
  const session = await auth.api.getSession({ headers: fromNodeHeaders(request.headers) })
  if (session === null) return reply.code(401).send({ error: 'Unauthorized' })
  return { sub: session.user.id }
})

const user = { email: 'bench@example.com', password: 'correct horse battery staple', name: 'bench' }

// A fresh sign-in per call, so that the cookie cache (5 minutes by default) is fresh for each round.
app.get('/bench/credentials', async () => {
  const signIn = await app.inject({ method: 'POST', url: '/api/auth/sign-in/email', headers: { origin }, payload: { email: user.email, password: user.password } })
  if (signIn.statusCode !== 200) throw new Error(`sign-in answered ${signIn.statusCode}: ${signIn.body}`)
  return { cookie: signIn.cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ') }
})

await app.listen({ host: '127.0.0.1', port: 0 })
const origin = `http://127.0.0.1:${app.server.address().port}`
const options = {
  database: db,
  secret: randomBytes(32).toString('base64url'),
  baseURL: origin,
  emailAndPassword: { enabled: true },
  ...(mode === 'cookie-cache' ? { session: { cookieCache: { enabled: true } } } : {})
}
const auth = betterAuth(options)
if (process.env.TEST_PG_URL !== undefined) await (await getMigrations(options)).runMigrations()
await auth.api.signUpEmail({ body: user })

console.log(`database ${name}`)
console.log(`listening ${app.server.address().port}`)
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
