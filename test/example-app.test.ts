import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { createKnexStore } from 'fastify-token-auth/knex'
import knex from 'knex'
import { build } from '../example-app/src/app.js'
import { loadConfig } from '../example-app/src/config.js'
import { openDatabase } from '../example-app/src/database.js'
import { pages } from '../example-app/src/pages.js'
import { closeGracefully } from '../example-app/src/shutdown.js'
import { loadTokenSecret } from '../example-app/src/token-secret.js'
import { buildExample, dataFolder, DEMO_PASSWORD, EXAMPLE_ROOT, exampleConfig } from './helpers/example-app.js'
import { bearer } from './helpers/forge.js'
import { withNodeEnv } from './helpers/node-env.js'
import { asCookieHeader, cookiesOf } from './helpers/session.js'

// The example app through build(): the page, the API, its configuration and its secret.

async function loginAs (app: Awaited<ReturnType<typeof buildExample>>, username: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: DEMO_PASSWORD } })
  return res.json().access_token
}

t.test('the page, its script and stylesheet are served with a strict CSP and security headers', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const page = await app.inject({ url: '/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.headers['content-security-policy'], /default-src 'self'; script-src 'self'/)
  t.match(page.headers, { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' })
  t.match(page.payload, /<form id="login-form">/)
  t.match(page.payload, /<meta name="csrf-cookie" content="__Host-csrf-token">/)
  t.match(page.payload, /<meta name="csrf-header" content="x-csrf-token">/)
  t.match((await app.inject({ url: '/app.js' })).headers['content-type'], /^text\/javascript/)
  t.match((await app.inject({ url: '/app.css' })).headers['content-type'], /^text\/css/)
})

t.test('the demo user signs in and sees the profile and the admin area', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const token = await loginAs(app, 'demo')
  const me = await app.inject({ url: '/api/me', headers: bearer(token) })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { username: 'demo', email: 'demo@example.com', roles: ['admin'], tokenExpiresAt: Number })
  const admin = await app.inject({ url: '/api/admin', headers: bearer(token) })
  t.equal(admin.statusCode, 200)
  t.match(admin.json().message, /admin area/)
})

t.test('the viewer has no admin role: 403 insufficient_scope', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const res = await app.inject({ url: '/api/admin', headers: bearer(await loginAs(app, 'viewer')) })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(res.headers['www-authenticate'], /error="insufficient_scope"/)
})

t.test('the API answers 401 without a session, and after logout', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const anonymous = await app.inject({ url: '/api/me' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="api"')
  const token = await loginAs(app, 'demo')
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })).statusCode, 204)
  const after = await app.inject({ url: '/api/me', headers: bearer(token) })
  t.equal(after.statusCode, 401)
  t.equal(after.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(after.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('a token of a deleted user is refused by /api/me', async (t) => {
  const config = await exampleConfig(t)
  const app = await buildExample(t, config)
  // The scope a session of any user carries, so that only the missing user is left to refuse it.
  const token = await app.tokenAuth.sign({ sub: 'deleted-user', scope: 'profile:read' })
  const res = await app.inject({ url: '/api/me', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('the health check reads the database', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  t.same((await app.inject({ url: '/healthz' })).json(), { status: 'ok' })
})

t.test('the health check answers 503 with a JSON body, not 500, while the database is down', async (t) => {
  const lines: string[] = []
  const app = await build(await exampleConfig(t), { logger: { level: 'error', stream: new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } }) } })
  t.teardown(async () => { await app.close() })
  await app.knex.destroy()
  const res = await app.inject({ url: '/healthz' })
  t.equal(res.statusCode, 503)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['retry-after'], '5')
  t.same(res.json(), { status: 'unavailable', reason: 'the database does not answer' })
  t.ok(lines.some((line) => line.includes('health check failed')), 'the cause is logged')
})

t.test('without TOKEN_SECRET a secret is generated once, kept private in the data folder, and reused', async (t) => {
  const config = await exampleConfig(t)
  const first = await buildExample(t, config)
  const file = join(config.dataDir, 'token-secret')
  t.equal((await stat(file)).mode & 0o777, 0o600)
  const token = await loginAs(first, 'demo')
  await first.close()
  const second = await buildExample(t, config)
  t.equal((await second.inject({ url: '/api/me', headers: bearer(token) })).statusCode, 200, 'the same secret after a restart, and the demo users are not duplicated')
  t.match(await readFile(file, 'utf8'), /^[A-Za-z0-9_-]{64}\n$/)
})

t.test('the data folder the app creates is 0700; the SQLite file, its WAL files and the secret are 0600', async (t) => {
  const dataDir = join(await dataFolder(t), 'data')
  const config = await exampleConfig(t, { DATA_DIR: dataDir })
  const app = await buildExample(t, config)
  await loginAs(app, 'demo')
  const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777
  t.equal(await modeOf(dataDir), 0o700)
  for (const file of ['auth.sqlite', 'auth.sqlite-wal', 'auth.sqlite-shm', 'token-secret']) t.equal(await modeOf(join(dataDir, file)), 0o600, file)
})

t.test('DATABASE_URL=sqlite::memory: keeps the database in memory and creates no file', async (t) => {
  const app = await buildExample(t, await exampleConfig(t, { DATABASE_URL: 'sqlite::memory:' }))
  t.equal((await app.inject({ url: '/api/me', headers: bearer(await loginAs(app, 'demo')) })).statusCode, 200)
  await t.rejects(stat(':memory:'), { code: 'ENOENT' })
})

/** A secret file others may read, as a copy with the wrong umask would leave it. */
async function looseSecretFile (dataDir: string): Promise<{ file: string, secret: string }> {
  const file = join(dataDir, 'token-secret')
  const secret = 'Kq3v9XrT1mWb7YzN4pLd8HfJ2sGc6EuA0oRi5VtQnBw'
  await writeFile(file, `${secret}\n`)
  await chmod(file, 0o644)
  return { file, secret }
}

t.test('a secret file other users can read is used with one warning naming the file and the fix', async (t) => {
  const config = await exampleConfig(t)
  const { file, secret } = await looseSecretFile(config.dataDir)
  const lines: string[] = []
  const app = await build(config, { logger: { level: 'warn', stream: new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } }) } })
  t.teardown(async () => { await app.close() })
  const warnings = lines.filter((line) => line.includes(file) && line.includes('readable or writable by other users'))
  t.equal(warnings.length, 1)
  t.match(warnings[0], `mode 0644): run chmod 600 ${file}`)
  t.notOk(lines.some((line) => line.includes(secret)), 'the secret is not logged')
  t.equal((await app.inject({ url: '/api/me', headers: bearer(await loginAs(app, 'demo')) })).statusCode, 200, 'the app runs')
  t.equal((await stat(file)).mode & 0o777, 0o644, 'the file is left for its owner to fix')
})

t.test('in production a secret file other users can read stops the start with the fix', async (t) => {
  const config = { ...await exampleConfig(t), production: true }
  const { file, secret } = await looseSecretFile(config.dataDir)
  const failure = build(config, { logger: false })
  await t.rejects(failure, { name: 'ConfigError', message: `the token secret file ${file} is readable or writable by other users (mode 0644): run chmod 600 ${file}` })
  await failure.catch((error: Error) => { t.notMatch(error.message, secret) })
  await chmod(file, 0o600)
  const fixed = await buildExample(t, config)
  t.equal((await fixed.inject({ url: '/healthz' })).statusCode, 200, 'after chmod 600 it starts')
})

t.test('TOKEN_SECRET from the environment is used, and a short or guessable one stops the start', async (t) => {
  withNodeEnv(t, undefined)
  const secret = 'lxpMXRebE5_PUgXbjFWuFf3P6MJHFmHzy0MsIZuS8L4M'
  const app = await buildExample(t, await exampleConfig(t, { TOKEN_SECRET: secret }))
  const other = await buildExample(t, await exampleConfig(t, { TOKEN_SECRET: secret }))
  t.equal((await other.inject({ url: '/api/me', headers: bearer(await loginAs(app, 'demo')) })).statusCode, 401, 'other database, same secret: the user is unknown there')
  t.equal((await other.inject({ url: '/healthz' })).statusCode, 200)
  await t.rejects(build(await exampleConfig(t, { TOKEN_SECRET: 'too-short' }), { logger: false }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /csrf\.secret must be .*at least 32 random bytes/ })
  await t.rejects(build(await exampleConfig(t, { TOKEN_SECRET: 'example-environment-secret-0123456789abcdefghij' }), { logger: false }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /csrf\.secret looks like words or a pattern/ })
})

t.test('cookies: secure by default, and COOKIE_SECURE=false drops the prefixes for plain-HTTP hosts', async (t) => {
  const secure = await buildExample(t, await exampleConfig(t))
  const login = await secure.inject({ method: 'POST', url: '/auth/login', payload: { username: 'demo', password: DEMO_PASSWORD } })
  t.ok('__Host-access-token' in cookiesOf(login))
  const plain = await buildExample(t, await exampleConfig(t, { COOKIE_SECURE: 'false' }))
  const plainLogin = await plain.inject({ method: 'POST', url: '/auth/login', payload: { username: 'demo', password: DEMO_PASSWORD } })
  t.same(plainLogin.cookies.map((cookie) => [cookie.name, cookie.secure]), [['access-token', undefined], ['csrf-token', undefined], ['refresh-token', undefined], ['device', undefined]])
})

t.test('with COOKIE_SECURE=false the page names the plain CSRF cookie, and refresh and logout with it work', async (t) => {
  const app = await buildExample(t, await exampleConfig(t, { COOKIE_SECURE: 'false' }))
  const page = (await app.inject({ url: '/' })).payload
  const csrfCookie = /<meta name="csrf-cookie" content="([^"]+)">/.exec(page)?.[1] as string
  const csrfHeader = /<meta name="csrf-header" content="([^"]+)">/.exec(page)?.[1] as string
  t.same([csrfCookie, csrfHeader], ['csrf-token', 'x-csrf-token'])
  let cookies = cookiesOf(await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'demo', password: DEMO_PASSWORD } }))
  // As the page does: every unsafe request echoes the cookie the page named.
  const refresh = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: asCookieHeader(cookies), [csrfHeader]: cookies[csrfCookie] } })
  t.equal(refresh.statusCode, 200)
  cookies = { ...cookies, ...cookiesOf(refresh) }
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: asCookieHeader(cookies), [csrfHeader]: cookies[csrfCookie] } })
  t.equal(logout.statusCode, 204)
  const me = await app.inject({ url: '/api/me', headers: { cookie: asCookieHeader(cookies) } })
  t.equal(me.statusCode, 401)
})

t.test('the names written into the page are escaped as HTML attribute values', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(pages, { csrfCookie: 'a&b"<c>', csrfHeader: 'x-csrf' })
  t.match((await app.inject({ url: '/' })).payload, '<meta name="csrf-cookie" content="a&amp;b&quot;&lt;c&gt;">')
})

t.test('configuration: documented defaults, and one clear error per bad variable', async (t) => {
  const defaults = loadConfig({}, EXAMPLE_ROOT)
  t.match(defaults, { production: false, host: 'localhost', port: 3000, dataDir: join(EXAMPLE_ROOT, 'data'), tablePrefix: 'auth_', accessTokenTtl: '15m', shutdownTimeoutMs: 10000, logLevel: 'info', prettyLogs: true, secureCookies: true, demoPassword: DEMO_PASSWORD, tokenSecret: undefined, reportsPort: 3001, revocationFeedCredential: undefined })
  t.equal(defaults.databaseUrl, `sqlite:${join(EXAMPLE_ROOT, 'data', 'auth.sqlite')}`)
  const production = { NODE_ENV: 'production', TOKEN_SECRET: 's', MFA_KEY: 'Zr4t9Qw2Lx7Vb1Nm8Kp3Hs6Dj0Fg5AyTe3Wc', MAIL_URL: 'smtps://mailer:pw@smtp.example.com:465', PUBLIC_URL: 'https://app.example.com' }
  t.match(loadConfig({ ...production, PORT: '8080', COOKIE_SECURE: '1', DATABASE_URL: 'postgres://db/app' }, EXAMPLE_ROOT), { production: true, port: 8080, prettyLogs: false, demoPassword: undefined, databaseUrl: 'postgres://db/app', secureCookies: true })
  t.equal(loadConfig({ TOKEN_SECRET: '', COOKIE_SECURE: '' }, EXAMPLE_ROOT).tokenSecret, undefined, 'an empty variable counts as unset')
  t.match(loadConfig({ REPORTS_PORT: 'off', REVOCATION_FEED_CREDENTIAL: 'Pq7-'.repeat(10) }, EXAMPLE_ROOT), { reportsPort: undefined, revocationFeedCredential: 'Pq7-'.repeat(10) })
  t.match(defaults, { trustProxy: false, revocationPush: true, revocationSyncInterval: undefined, revocationMaxStaleness: undefined, bcryptCost: undefined, databasePoolMax: 10 })
  t.match(loadConfig({ REVOCATION_SYNC_INTERVAL: '100ms', REVOCATION_MAX_STALENESS: '1.5s' }, EXAMPLE_ROOT), { revocationSyncInterval: '100ms', revocationMaxStaleness: '1.5s' })
  t.match(loadConfig({ TRUST_PROXY: 'true', REVOCATION_PUSH: 'false', BCRYPT_COST: '10', DATABASE_POOL_MAX: '4' }, EXAMPLE_ROOT), { trustProxy: true, revocationPush: false, bcryptCost: 10, databasePoolMax: 4 })
  t.same(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8' }, EXAMPLE_ROOT).trustProxy, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'])
  t.equal(loadConfig({ TRUST_PROXY: '0' }, EXAMPLE_ROOT).trustProxy, false)
  const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ PORT: 'http' }, /^PORT must be a port number/],
    [{ PORT: '70000' }, /^PORT must be/],
    [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL must be one of/],
    [{ DATABASE_URL: 'mongodb://x' }, /^DATABASE_URL must start with sqlite:, postgres:\/\/ or mysql:\/\//],
    [{ COOKIE_SECURE: 'yes' }, /^COOKIE_SECURE must be true or false/],
    [{ SHUTDOWN_TIMEOUT: '0' }, /^SHUTDOWN_TIMEOUT must be a number of seconds above 0/],
    [{ NODE_ENV: 'production', MAIL_URL: production.MAIL_URL, PUBLIC_URL: production.PUBLIC_URL }, /^TOKEN_SECRET is required when NODE_ENV=production/],
    [{ REPORTS_PORT: 'yes' }, /^REPORTS_PORT must be a port number/],
    [{ REVOCATION_FEED_CREDENTIAL: 'short' }, /^REVOCATION_FEED_CREDENTIAL must be at least 32 random printable characters/],
    [{ REVOCATION_FEED_CREDENTIAL: 'x'.repeat(31) + ' y' }, /^REVOCATION_FEED_CREDENTIAL must be/],
    [{ TRUST_PROXY: 'yes' }, /^TRUST_PROXY must be true, false or a comma-separated list/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^TRUST_PROXY must be/],
    [{ TRUST_PROXY: '10.0.0.0/8/1' }, /^TRUST_PROXY must be/],
    [{ TRUST_PROXY: '10.0.0.0/x' }, /^TRUST_PROXY must be/],
    [{ REVOCATION_PUSH: 'on' }, /^REVOCATION_PUSH must be true or false/],
    [{ REVOCATION_SYNC_INTERVAL: '250' }, /^REVOCATION_SYNC_INTERVAL must be a duration such as 250ms/],
    [{ REVOCATION_MAX_STALENESS: '1 second' }, /^REVOCATION_MAX_STALENESS must be a duration/],
    [{ BCRYPT_COST: '10.5' }, /^BCRYPT_COST must be a whole number from 4 to 31/],
    [{ BCRYPT_COST: '32' }, /^BCRYPT_COST must be/],
    [{ DATABASE_POOL_MAX: '0' }, /^DATABASE_POOL_MAX must be a whole number from 1 to 1000/]
  ]
  for (const [env, message] of bad) t.throws(() => loadConfig(env, EXAMPLE_ROOT), { name: 'ConfigError', message })
})

for (const [name, variable] of [['postgres', 'TEST_PG_URL'], ['mysql', 'TEST_MYSQL_URL']] as const) {
  const url = process.env[variable]
  t.test(`DATABASE_URL switches the same app to ${name}`, { skip: url === undefined ? `${variable} is not set` : false }, async (t) => {
    const tablePrefix = `ex${Math.random().toString(16).slice(2, 10)}_`
    t.teardown(async () => {
      const db = knex({ client: name === 'postgres' ? 'pg' : 'mysql2', connection: url as string })
      await createKnexStore({ knex: db, tablePrefix }).rollback()
      await db.destroy()
    })
    const app = await buildExample(t, await exampleConfig(t, { DATABASE_URL: url, TABLE_PREFIX: tablePrefix }))
    const me = await app.inject({ url: '/api/me', headers: bearer(await loginAs(app, 'demo')) })
    t.equal(me.statusCode, 200)
    t.equal(me.json().username, 'demo')
  })
}

t.test('a database that cannot be reached stops the start with the driver\'s error', async (t) => {
  await t.rejects(build(await exampleConfig(t, { DATABASE_URL: `sqlite:${join(EXAMPLE_ROOT, 'public', 'index.html', 'not-a-folder', 'x.sqlite')}` }), { logger: false }))
})

t.test('a demo password the store refuses stops the start', async (t) => {
  await t.rejects(build(await exampleConfig(t, { DEMO_PASSWORD: 'short' }), { logger: false }), { code: 'FST_TOKEN_AUTH_PASSWORD_REJECTED' })
})

t.test('an unreadable secret file stops the start instead of being replaced', async (t) => {
  const config = await exampleConfig(t)
  await mkdir(join(config.dataDir, 'token-secret'), { recursive: true })
  await t.rejects(build(config, { logger: false }), { code: 'EISDIR' })
  const notAFolder = join(config.dataDir, 'plain-file')
  await writeFile(notAFolder, '')
  await t.rejects(loadTokenSecret(undefined, notAFolder, { strict: false }), { code: 'ENOTDIR' }, 'a data folder that is a file')
})

t.test('a secret file that is a symbolic link stops the start instead of being followed or replaced', async (t) => {
  const config = await exampleConfig(t)
  const file = join(config.dataDir, 'token-secret')
  const elsewhere = join(config.dataDir, 'planted')
  await writeFile(elsewhere, 'Kq3v9XrT1mWb7YzN4pLd8HfJ2sGc6EuA0oRi5VtQnBw\n', { mode: 0o600 })
  await symlink(elsewhere, file)
  await t.rejects(build(config, { logger: false }), { name: 'ConfigError', message: `the token secret file ${file} is a symbolic link: keep the secret in a regular file, or set TOKEN_SECRET` })
})

t.test('a secret file owned by another user is refused', async (t) => {
  const config = await exampleConfig(t)
  const file = join(config.dataDir, 'token-secret')
  await writeFile(file, 'Kq3v9XrT1mWb7YzN4pLd8HfJ2sGc6EuA0oRi5VtQnBw\n', { mode: 0o600 })
  const mine = (await stat(file)).uid
  // As if the app ran as another user: the file's owner is then someone else.
  await t.rejects(loadTokenSecret(undefined, config.dataDir, { strict: false, owner: mine + 1 }), { name: 'ConfigError', message: `the token secret file ${file} belongs to another user (uid ${mine}): chown it to the app's user, or set TOKEN_SECRET` })
  t.equal((await loadTokenSecret(undefined, config.dataDir, { strict: false })).origin, 'data folder', 'the process\'s own file is used')
})

t.test('a database path that is a symbolic link is refused, not followed', async (t) => {
  const config = await exampleConfig(t)
  await symlink(join(config.dataDir, 'elsewhere.sqlite'), join(config.dataDir, 'auth.sqlite'))
  await t.rejects(build(config, { logger: false }), { code: 'ELOOP' })
})

t.test('graceful close: 0 when closed in time, 1 when closing fails or a request holds it too long', async (t) => {
  const quick = await buildExample(t, await exampleConfig(t))
  t.equal(await closeGracefully(quick, 1000), 0)
  const errors: string[] = []
  const appClosingWith = (close: () => Promise<undefined>): FastifyInstance => ({
    close, server: { closeIdleConnections () {} }, log: { error: (...args: unknown[]) => { errors.push(String(args.at(-1))) } }
  }) as unknown as FastifyInstance
  t.equal(await closeGracefully(appClosingWith(async () => { throw new Error('pool would not close') }), 1000), 1)
  t.equal(await closeGracefully(appClosingWith(async () => await new Promise(() => {})), 200), 1)
  t.same(errors, ['error while shutting down', 'shutdown took longer than 200 ms; exiting anyway'])
})

t.test('a wrong password at the example app is a 401 and is logged as a failed login, without the password', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = await build(await exampleConfig(t), { logger: { level: 'warn', stream } })
  t.teardown(async () => { await app.close() })
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'demo', password: 'not the demo password' } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
  t.ok(lines.some((line) => line.includes('"reason":"wrong_password"') && line.includes('"type":"login.failed"')))
  t.notOk(lines.some((line) => line.includes('not the demo password')))
})

t.test('DATABASE_URL picks the driver by its scheme, connecting only when used', async (t) => {
  for (const [url, client] of [['postgres://user@127.0.0.1:1/db', 'pg'], ['mysql://user@127.0.0.1:1/db', 'mysql2']]) {
    const db = await openDatabase(url)
    t.equal(db.client.config.client, client, url)
    await db.destroy()
  }
})
