import { Writable } from 'node:stream'
import t from 'tap'
import type { UserRecord } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import { build } from '../example-app/src/app.js'
import { loadConfig } from '../example-app/src/config.js'
import { bearer } from './helpers/forge.js'
import { buildExample, DEMO_PASSWORD, EXAMPLE_ROOT, exampleConfig } from './helpers/example-app.js'
import { SmtpCatcher } from './helpers/smtp-catcher.js'

// The example app's account side over HTTP: its mail settings, the pages the mailed links
// open, the mail it sends over SMTP, and the admin routes it mounts.

async function loginAs (app: Awaited<ReturnType<typeof buildExample>>, username: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: DEMO_PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.payload}`)
  return res.json().access_token
}

t.test('mail configuration: the console in development, SMTP required in production, links from PUBLIC_URL', async (t) => {
  t.match(loadConfig({}, EXAMPLE_ROOT), { mailUrl: 'console', mailFrom: 'Example <no-reply@localhost>', publicUrl: 'http://localhost:3000' })
  t.equal(loadConfig({ MAIL_URL: 'console' }, EXAMPLE_ROOT).mailUrl, 'console', 'asked for by name')
  t.match(loadConfig({ PORT: '8080', MAIL_URL: '', PUBLIC_URL: '' }, EXAMPLE_ROOT), { mailUrl: 'console', publicUrl: 'http://localhost:8080' }, 'the default link follows PORT; empty counts as unset')
  t.match(loadConfig({ MAIL_URL: 'smtp://mailer:secret@127.0.0.1:2525', MAIL_FROM: 'Shop <shop@example.com>', PUBLIC_URL: 'https://shop.example.com/' }, EXAMPLE_ROOT),
    { mailUrl: 'smtp://mailer:secret@127.0.0.1:2525', mailFrom: 'Shop <shop@example.com>', publicUrl: 'https://shop.example.com' })
  const production = { NODE_ENV: 'production', TOKEN_SECRET: 's', MFA_KEY: 'Zr4t9Qw2Lx7Vb1Nm8Kp3Hs6Dj0Fg5AyTe3Wc', MAIL_URL: 'smtps://smtp.example.com:465', PUBLIC_URL: 'https://app.example.com' }
  t.match(loadConfig(production, EXAMPLE_ROOT), { mailUrl: 'smtps://smtp.example.com:465', publicUrl: 'https://app.example.com' })
  const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ ...production, MAIL_URL: undefined }, /^MAIL_URL is required when NODE_ENV=production/],
    [{ ...production, MAIL_URL: 'console' }, /^MAIL_URL=console prints password-reset links to the logs/],
    [{ ...production, PUBLIC_URL: undefined }, /^PUBLIC_URL is required when NODE_ENV=production/],
    [{ MAIL_URL: 'http://mail.example.com' }, /^MAIL_URL must be smtp:\/\/host\[:port\], smtps:\/\/host\[:port\] or console$/],
    [{ MAIL_URL: 'smtp://' }, /^MAIL_URL must be/],
    [{ MAIL_URL: 'smtp://host:99999' }, /^MAIL_URL must be/],
    [{ PUBLIC_URL: 'localhost:3000' }, /^PUBLIC_URL must be an http:\/\/ or https:\/\/ address/],
    [{ PUBLIC_URL: 'not an address' }, /^PUBLIC_URL must be an http:\/\/ or https:\/\/ address/],
    [{ PUBLIC_URL: 'https://app.example.com/?x=1' }, /^PUBLIC_URL must be/],
    [{ PUBLIC_URL: 'https://app.example.com/#top' }, /^PUBLIC_URL must be/],
    [{ PUBLIC_URL: 'https://user:pw@app.example.com' }, /^PUBLIC_URL must be[^@]*$/],
    [{ PUBLIC_URL: 'https://:pw@app.example.com' }, /^PUBLIC_URL must be[^@]*$/]
  ]
  for (const [env, message] of bad) t.throws(() => loadConfig(env, EXAMPLE_ROOT), { name: 'ConfigError', message })
  t.throws(() => loadConfig({ MAIL_URL: 'smtp://mailer:hunter2@host:99999' }, EXAMPLE_ROOT), { message: /^(?!.*hunter2)/ }, 'a bad MAIL_URL is not echoed: it may hold the SMTP password')
})

t.test('the account pages and their scripts are served with the strict CSP, the security headers and the server\'s CSRF names', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  for (const [path, form] of [['/forgot-password', 'forgot-form'], ['/reset-password', 'reset-form'], ['/verify-email', 'verify-view']]) {
    const page = await app.inject({ url: path })
    t.equal(page.statusCode, 200, path)
    t.match(page.headers, { 'content-type': /^text\/html/, 'content-security-policy': /default-src 'self'; script-src 'self'/, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cache-control': 'no-cache' }, path)
    t.match(page.payload, `id="${form}"`)
    t.match(page.payload, '<meta name="csrf-cookie" content="__Host-csrf-token">')
    t.match(page.payload, `<script type="module" src="${path}.js"></script>`)
    t.notMatch(page.payload, /<script>|\sstyle=|\son[a-z]+=/, 'no inline script or style the CSP would block')
  }
  for (const script of ['/api.js', '/sessions.js', '/admin.js', '/forgot-password.js', '/reset-password.js', '/verify-email.js']) {
    const res = await app.inject({ url: script })
    t.equal(res.statusCode, 200, script)
    t.match(res.headers['content-type'], /^text\/javascript/, script)
  }
  t.match((await app.inject({ url: '/' })).payload, '<a id="forgot-link" href="/forgot-password">Forgot password?</a>')
})

t.test('a forgotten password is mailed over SMTP with a link to PUBLIC_URL\'s reset page, the token in the fragment', async (t) => {
  const mail = await SmtpCatcher.start(t)
  const app = await buildExample(t, await exampleConfig(t, { MAIL_URL: mail.url, MAIL_FROM: 'Example <accounts@example.test>', PUBLIC_URL: 'https://app.example.test' }))
  const unknown = await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'nobody@example.com' } })
  t.equal(unknown.statusCode, 202, 'an unknown address gets the same answer')
  const res = await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'viewer@example.com' } })
  t.equal(res.statusCode, 202)
  const message = await mail.nextMessage(undefined, { timeoutMs: 10_000 })
  t.same(message.envelope.to, ['viewer@example.com'], 'the first mail is the known user\'s: none went to the unknown address')
  t.match(message.from, 'accounts@example.test')
  const token = /https:\/\/app\.example\.test\/reset-password#token=([A-Za-z0-9_-]{43})/.exec(message.text)?.[1] as string
  t.ok(token, 'the text part carries the link')
  const reset = await app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, new_password: 'a brand new passphrase' } })
  t.equal(reset.statusCode, 204)
  t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer', password: 'a brand new passphrase' } })).statusCode, 200)
})

t.test('the demo users\' addresses are verified at creation, so they sign in although the app requires verified addresses', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  for (const username of ['demo', 'viewer']) {
    t.type((await app.tokenAuth.accounts.findUserByUsername(username))?.emailVerifiedAt, 'number', username)
  }
  await app.tokenAuth.accounts.createUser({ username: 'newcomer', email: 'newcomer@example.com', password: DEMO_PASSWORD })
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'newcomer', password: DEMO_PASSWORD } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED')
  t.equal(res.headers['www-authenticate'], undefined)
  const me = await app.inject({ url: '/api/me', headers: bearer(await loginAs(app, 'demo')) })
  t.match(me.json(), { email: 'demo@example.com', emailVerifiedAt: Number })
})

t.test('the admin routes are under /api/admin, for the admin role only', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const anonymous = await app.inject({ url: '/api/admin/users' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="api"')
  const viewer = await app.inject({ url: '/api/admin/users', headers: bearer(await loginAs(app, 'viewer')) })
  t.equal(viewer.statusCode, 403)
  t.equal(viewer.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(viewer.headers['www-authenticate'], /error="insufficient_scope"/)
  const admin = await app.inject({ url: '/api/admin/users?search=view', headers: bearer(await loginAs(app, 'demo')) })
  t.equal(admin.statusCode, 200)
  t.match(admin.json(), { users: [{ username: 'viewer', email: 'viewer@example.com', email_verified_at: Number, roles: [] }], next: null })
  t.equal(admin.json().users.length, 1)
})

t.test('a demo user from a data folder older than verified addresses has its address verified at the next start', async (t) => {
  const config = await exampleConfig(t)
  const first = await buildExample(t, config)
  const viewer = await first.tokenAuth.accounts.findUserByUsername('viewer') as UserRecord
  await createKnexStore({ knex: first.knex, tablePrefix: config.tablePrefix }).users.update(viewer.id, { set: { emailVerifiedAt: null } })
  t.equal((await first.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer', password: DEMO_PASSWORD } })).json().code, 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED')
  await first.close()
  const second = await buildExample(t, config)
  t.equal((await second.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer', password: DEMO_PASSWORD } })).statusCode, 200)
})

t.test('without MAIL_URL the mail is printed to stderr, the link included, and never logged', async (t) => {
  const printed: string[] = []
  const logged: string[] = []
  const write = process.stderr.write
  let arrived: () => void
  const mailPrinted = new Promise<void>((resolve) => { arrived = resolve })
  process.stderr.write = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk))
    if (String(chunk).includes('reset-password#token=')) arrived()
    return true
  }) as typeof process.stderr.write
  t.teardown(() => { process.stderr.write = write })
  const app = await build(await exampleConfig(t, { PORT: '4321' }), { logger: { level: 'trace', stream: new Writable({ write (chunk, _encoding, done) { logged.push(String(chunk)); done() } }) } })
  t.teardown(async () => { await app.close() })
  t.equal((await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'viewer@example.com' } })).statusCode, 202)
  await mailPrinted
  const mail = printed.join('')
  t.match(mail, 'To: viewer@example.com')
  t.match(mail, /http:\/\/localhost:4321\/reset-password#token=[A-Za-z0-9_-]{43}/)
  t.notOk(logged.some((line) => line.includes('#token=')), 'the link is not in the log')
})
