import { Writable } from 'node:stream'
import t from 'tap'
import type { UserPort } from 'fastify-token-auth'
import { BackgroundJobs } from '../lib/accounts/background-jobs.js'
import { ALICE_EMAIL, buildMailApp, headersButDate, NEW_PASSWORD } from './helpers/account-mail.js'
import { PASSWORD } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { linkTokenOf } from './helpers/mail-outbox.js'
import { login } from './helpers/session.js'
import { memoryStoreTarget } from './helpers/stores.js'

// Attacks on the account-mail flows: learning whether an address has an account (by the
// answer or by its timing), mail-bombing an address, replaying a link, and tokens in logs.

for (const url of ['/auth/password/forgot', '/auth/email/verification']) {
  t.test(`${url}: a known and an unknown address get the same status, body and headers; only the background job differs`, async (t) => {
    const mail = await buildMailApp(t)
    const known = await mail.post(url, { email: ALICE_EMAIL })
    const unknown = await mail.post(url, { email: 'nobody@example.com' })
    t.equal(known.statusCode, 202)
    t.equal(unknown.statusCode, known.statusCode)
    t.equal(unknown.payload, known.payload)
    t.same(headersButDate(unknown), headersButDate(known))
    await mail.app.close()
    t.same(mail.outbox.sent.map((message) => message.to), [ALICE_EMAIL], 'the known address got its link, the unknown one nothing')
  })
}

t.test('the answer does not wait for the address to be looked up: its timing cannot tell', async (t) => {
  const target = memoryStoreTarget()
  let releaseLookup = (): void => {}
  const lookupHeld = new Promise<void>((resolve) => { releaseLookup = resolve })
  const lookups: string[] = []
  const mail = await buildMailApp(t, {
    target: {
      ...target,
      async create (t) {
        const store = await target.create(t)
        const users: UserPort = { ...store.users, async findByEmail (email) { lookups.push(email); await lookupHeld; return await store.users.findByEmail(email) } }
        return { ...store, users, migrate: store.migrate }
      }
    }
  })
  const res = await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })
  t.equal(res.statusCode, 202, 'answered while the lookup is still held')
  t.same(lookups, [ALICE_EMAIL], 'the lookup started after the answer was decided')
  t.equal(mail.outbox.sent.length, 0)
  releaseLookup()
  t.ok(linkTokenOf(await mail.outbox.next(ALICE_EMAIL)), 'the job finishes once the lookup returns')
})

t.test('one client address may ask for mail 10 times an hour, then gets 429 with Retry-After', async (t) => {
  const clock = new TestClock()
  const mail = await buildMailApp(t, { auth: { clock } })
  for (let i = 0; i < 10; i++) {
    t.equal((await mail.post('/auth/password/forgot', { email: `user${i}@example.com` }, {}, '203.0.113.5')).statusCode, 202)
  }
  for (const url of ['/auth/password/forgot', '/auth/email/verification']) {
    const res = await mail.post(url, { email: 'another@example.com' }, {}, '203.0.113.5')
    t.equal(res.statusCode, 429, url)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_RATE_LIMITED')
    t.equal(res.headers['retry-after'], '3600')
    t.equal(res.headers['www-authenticate'], undefined)
  }
  t.equal((await mail.post('/auth/password/forgot', { email: ALICE_EMAIL }, {}, '203.0.113.6')).statusCode, 202, 'another address is not held back')
  clock.advance(3600 * 1000)
  t.equal((await mail.post('/auth/password/forgot', { email: 'another@example.com' }, {}, '203.0.113.5')).statusCode, 202, 'a new window, a new allowance')
})

t.test('an IPv6 client counts as its /64', async (t) => {
  const mail = await buildMailApp(t, { auth: { mailThrottle: { perAddress: 1 } } })
  t.equal((await mail.post('/auth/password/forgot', { email: 'a@example.com' }, {}, '2001:db8::1')).statusCode, 202)
  t.equal((await mail.post('/auth/password/forgot', { email: 'b@example.com' }, {}, '2001:db8::ffff')).statusCode, 429)
})

t.test('one email address is sent 3 mails an hour, whoever asks; the fourth request gets the same 202 and no mail', async (t) => {
  const mail = await buildMailApp(t)
  const answers = []
  for (let i = 0; i < 4; i++) answers.push(await mail.post('/auth/password/forgot', { email: ALICE_EMAIL }, {}, `198.51.100.${i + 1}`))
  for (const res of answers) {
    t.equal(res.statusCode, 202)
    t.same(headersButDate(res), headersButDate(answers[0]))
  }
  t.equal((await mail.post('/auth/email/verification', { email: ALICE_EMAIL }, {}, '198.51.100.9')).statusCode, 202, 'a resend counts against the same allowance')
  await mail.app.close()
  t.equal(mail.outbox.to(ALICE_EMAIL).length, 3)
})

t.test('the allowances hold across instances: the counters live in the store', async (t) => {
  const target = memoryStoreTarget()
  const store = await target.create(t)
  const shared = { ...target, create: async () => store }
  const first = await buildMailApp(t, { target: shared, auth: { mailThrottle: { perAddress: 2 } } })
  const second = await buildMailApp(t, { target: shared, auth: { mailThrottle: { perAddress: 2 } } })
  t.equal((await first.post('/auth/password/forgot', { email: 'x@example.com' }, {}, '203.0.113.9')).statusCode, 202)
  t.equal((await second.post('/auth/password/forgot', { email: 'y@example.com' }, {}, '203.0.113.9')).statusCode, 202)
  t.equal((await first.post('/auth/password/forgot', { email: 'z@example.com' }, {}, '203.0.113.9')).statusCode, 429)
})

t.test('a reset link cannot verify an email, nor a verification link reset a password', async (t) => {
  const mail = await buildMailApp(t)
  await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })
  const resetToken = linkTokenOf(await mail.outbox.next(ALICE_EMAIL))
  const asVerification = await mail.post('/auth/email/verify', { token: resetToken })
  t.equal(asVerification.statusCode, 400)
  t.equal(asVerification.json().code, 'FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN')
  t.equal((await mail.post('/auth/password/reset', { token: resetToken, new_password: NEW_PASSWORD })).statusCode, 204, 'and the reset link was not spent by it')
})

t.test('a mail server that fails: the request still gets its 202, and the log names the failure without the token', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const mail = await buildMailApp(t, { fastify: { logger: { level: 'debug', stream } } })
  let leaked = ''
  const send = mail.outbox.send.bind(mail.outbox)
  // The transport's error quotes the message, link and token included, as some SMTP errors do.
  mail.outbox.send = async (message) => {
    leaked = linkTokenOf(message)
    mail.outbox.failWith = Object.assign(new Error(`550 rejected: ${message.text}`), { code: 'EENVELOPE' })
    return await send(message)
  }
  t.equal((await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })).statusCode, 202)
  await mail.app.close()
  t.ok(leaked.length === 43, 'a token was minted and handed to the transport')
  const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.job === 'password reset mail')
  t.match(failure, { level: 50, err: { code: 'FST_TOKEN_AUTH_MAIL_NOT_SENT', message: /550 rejected/ } })
  t.notOk(lines.some((line) => line.includes(leaked)), 'the token is in no log line')
})

t.test('no token reaches any log line through a whole reset, verification and change', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const mail = await buildMailApp(t, { fastify: { logger: { level: 'trace', stream } } })
  const tokens: string[] = []
  await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })
  tokens.push(linkTokenOf(await mail.outbox.next(ALICE_EMAIL)))
  await mail.post('/auth/password/reset', { token: tokens[0], new_password: NEW_PASSWORD })
  await mail.post('/auth/password/reset', { token: tokens[0], new_password: NEW_PASSWORD })
  await mail.app.tokenAuth.sendEmailVerification(mail.alice.id)
  const { accessToken } = await login(mail.app, { password: NEW_PASSWORD })
  await mail.post('/auth/email/change', { new_email: 'alice@new.example', current_password: NEW_PASSWORD }, bearer(accessToken))
  tokens.push(linkTokenOf(await mail.outbox.next('alice@new.example')))
  await mail.post('/auth/email/verify', { token: tokens[1] })
  await mail.post('/auth/email/verify', { token: tokens[1] })
  await mail.app.close()
  t.ok(lines.length > 10, 'the requests were logged')
  for (const token of tokens) t.notOk(lines.some((line) => line.includes(token)), 'no line holds a token')
  t.notOk(lines.some((line) => line.includes(NEW_PASSWORD) || line.includes(PASSWORD)), 'nor a password')
})

t.test('closing the app waits for a mail still being sent', async (t) => {
  const mail = await buildMailApp(t)
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const send = mail.outbox.send.bind(mail.outbox)
  mail.outbox.send = async (message) => { await held; await send(message) }
  t.equal((await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })).statusCode, 202)
  let closed = false
  const closing = mail.app.close().then(() => { closed = true })
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(closed, 'still sending')
  release()
  await closing
  t.equal(mail.outbox.to(ALICE_EMAIL).length, 1, 'the mail went out before the app closed')
})

t.test('a failed job logs what failed, whatever was thrown, with anything token-shaped cut out', async (t) => {
  const logged: object[] = []
  const jobs = new BackgroundJobs({ error: (details) => { logged.push(details) } })
  const token = 'T'.repeat(43)
  jobs.run('a', async () => { throw Object.assign(new Error(`refused ${token}`), { code: 'ECONN' }) })
  jobs.run('b', async () => { throw `a string ${token}` }) // eslint-disable-line no-throw-literal
  jobs.run('c', async () => { throw Object.assign(new Error('x'), { name: 42, code: 7 }) })
  await jobs.drain(1000)
  t.same(logged, [
    { job: 'a', err: { name: 'Error', code: 'ECONN', message: 'refused [redacted]' } },
    { job: 'b', err: { name: 'Error', code: undefined, message: 'a string [redacted]' } },
    { job: 'c', err: { name: 'Error', code: undefined, message: 'x' } }
  ])
  await jobs.drain(1000)
})

t.test('draining stops waiting after its timeout', async (t) => {
  const jobs = new BackgroundJobs({ error: () => {} })
  jobs.run('hung', async () => { await new Promise(() => {}) })
  await jobs.drain(10)
  t.pass('drain returned while the job still hangs')
})
