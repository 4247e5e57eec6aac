import t, { type Test } from 'tap'
import type { AccountTokenPort } from 'fastify-token-auth'
import { PASSWORD } from './helpers/app.js'
import { ALICE_EMAIL, buildMailApp, MAIL_LINKS, NEW_PASSWORD, type MailApp } from './helpers/account-mail.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { linkTokenOf } from './helpers/mail-outbox.js'
import { SmtpCatcher } from './helpers/smtp-catcher.js'
import { login } from './helpers/session.js'
import { forEachStore } from './helpers/stores.js'

// POST /auth/password/forgot and /auth/password/reset: the link, what a reset ends, and every refusal.

async function resetToken ({ post, outbox }: MailApp): Promise<string> {
  const forgot = await post('/auth/password/forgot', { email: ALICE_EMAIL })
  if (forgot.statusCode !== 202) throw new Error(`forgot: ${forgot.statusCode} ${forgot.payload}`)
  return linkTokenOf(await outbox.next(ALICE_EMAIL))
}

const reset = async ({ post }: MailApp, token: string, newPassword = NEW_PASSWORD, remoteAddress?: string): ReturnType<MailApp['post']> =>
  await post('/auth/password/reset', { token, new_password: newPassword }, {}, remoteAddress)

const logIn = async ({ post }: MailApp, password: string): Promise<number> => (await post('/auth/login', { username: 'alice', password })).statusCode

function invalidLink (t: Test, res: Awaited<ReturnType<MailApp['post']>>, message = 'refused as an invalid link'): void {
  t.equal(res.statusCode, 400, message)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN')
  t.equal(res.json().message, 'The link is invalid or has expired')
  t.equal(res.headers['www-authenticate'], undefined, 'no challenge: no token of the Bearer scheme was involved')
}

forEachStore(t, 'a forgotten password: 202 at once, a mailed link, and the link sets a new password', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const forgot = await mail.post('/auth/password/forgot', { email: 'Alice@Example.com' })
  t.equal(forgot.statusCode, 202)
  t.equal(forgot.payload, '', 'no body')
  t.equal(forgot.headers['cache-control'], 'no-store')
  t.equal(forgot.headers['www-authenticate'], undefined)
  const message = await mail.outbox.next(ALICE_EMAIL)
  t.equal(message.from, 'Example <no-reply@example.com>')
  t.ok(message.text.includes(`${MAIL_LINKS.passwordReset}#token=`), 'the token travels in the link\'s fragment')
  const token = linkTokenOf(message)
  const res = await reset(mail, token)
  t.equal(res.statusCode, 204)
  t.equal(res.payload, '')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['set-cookie'], undefined, 'no session without passwordReset.logIn')
  t.equal(await logIn(mail, NEW_PASSWORD), 200, 'the new password works')
  t.equal(await logIn(mail, PASSWORD), 401, 'the old one does not')
  const user = await mail.store.users.findById(mail.alice.id)
  t.type(user?.emailVerifiedAt, 'number', 'the link reached the mailbox: the email is verified')
  const changed = await mail.outbox.next(ALICE_EMAIL)
  t.notOk(changed.text.includes(token), 'the password-changed notice carries no link')
  t.match(mail.events.find((event) => event.type === 'password.reset'), { userId: mail.alice.id, address: '192.0.2.10' })
  t.notOk(JSON.stringify(mail.events).includes(token), 'no event carries the token')
})

forEachStore(t, 'a reset ends every session: earlier access and refresh tokens are refused', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const session = await login(mail.app, { include_refresh_token: true })
  t.equal((await mail.app.inject({ url: '/me', headers: bearer(session.accessToken) })).statusCode, 200)
  t.equal((await reset(mail, await resetToken(mail))).statusCode, 204)
  const me = await mail.app.inject({ url: '/me', headers: bearer(session.accessToken) })
  t.equal(me.statusCode, 401)
  t.equal(me.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(me.headers['www-authenticate'], /error="invalid_token"/)
  const refresh = await mail.post('/auth/refresh', { refresh_token: session.refreshToken })
  t.equal(refresh.statusCode, 401)
  t.equal(refresh.json().code, 'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN')
  t.match(refresh.headers['www-authenticate'], /error="invalid_token"/)
})

forEachStore(t, 'a link works once: the same token again is an invalid link', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const token = await resetToken(mail)
  t.equal((await reset(mail, token)).statusCode, 204)
  invalidLink(t, await reset(mail, token, 'yet another passphrase'))
  t.equal(await logIn(mail, NEW_PASSWORD), 200, 'the first reset stands')
})

forEachStore(t, 'twenty resets with one link at once: exactly one succeeds', async (t, target) => {
  const mail = await buildMailApp(t, { target, auth: { mailThrottle: { failedLinksPerAddress: 100 } } })
  const token = await resetToken(mail)
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await reset(mail, token, `concurrent passphrase ${i}`)))
  const statuses = results.map((res) => res.statusCode)
  t.equal(statuses.filter((status) => status === 204).length, 1, 'one winner')
  t.equal(statuses.filter((status) => status === 400).length, 19, 'every other one an invalid link')
  const winner = results.findIndex((res) => res.statusCode === 204)
  t.equal(await logIn(mail, `concurrent passphrase ${winner}`), 200, 'the winner\'s password is the one set')
})

forEachStore(t, 'a reset racing a password change: the change that wrote first stands, the reset is refused and writes nothing', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const token = await resetToken(mail)
  const accounts = mail.app.tokenAuth.accounts
  // The password changes right after the reset read the user, before its compare-and-set.
  const tokens = mail.store.accountTokens as { -readonly [K in keyof AccountTokenPort]: AccountTokenPort[K] }
  const consume = tokens.consume.bind(tokens)
  tokens.consume = async (...args) => {
    await accounts.changePassword(mail.alice.id, 'changed in the meantime')
    return await consume(...args)
  }
  invalidLink(t, await reset(mail, token))
  t.equal(await logIn(mail, 'changed in the meantime'), 200, 'the password change stands')
  t.equal(await logIn(mail, NEW_PASSWORD), 401, 'the reset set nothing')
})

forEachStore(t, 'a link issued before the password changed is refused', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const token = await resetToken(mail)
  await mail.app.tokenAuth.accounts.changePassword(mail.alice.id, 'changed after the mail')
  invalidLink(t, await reset(mail, token))
  t.equal(await logIn(mail, 'changed after the mail'), 200)
})

forEachStore(t, 'a link expires after passwordReset.tokenTtl', async (t, target) => {
  const clock = new TestClock()
  const mail = await buildMailApp(t, { target, auth: { clock, passwordReset: { tokenTtl: '10m' } } })
  const token = await resetToken(mail)
  clock.advance(10 * 60 * 1000 + 1000)
  invalidLink(t, await reset(mail, token))
  t.equal(await logIn(mail, PASSWORD), 200, 'the password is unchanged')
})

forEachStore(t, 'a reset voids the user\'s other reset links', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const first = await resetToken(mail)
  const second = await resetToken(mail)
  t.equal((await reset(mail, second)).statusCode, 204)
  invalidLink(t, await reset(mail, first, 'another passphrase'))
})

t.test('a link issued before the account\'s email changed is refused', async (t) => {
  const mail = await buildMailApp(t)
  const token = await resetToken(mail)
  await mail.app.tokenAuth.accounts.updateUser(mail.alice.id, { email: 'alice@elsewhere.example' })
  invalidLink(t, await reset(mail, token))
})

t.test('a disabled user\'s link is refused, and a disabled user is sent none', async (t) => {
  const mail = await buildMailApp(t)
  const token = await resetToken(mail)
  await mail.app.tokenAuth.accounts.setDisabled(mail.alice.id, true)
  invalidLink(t, await reset(mail, token))
  t.equal((await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })).statusCode, 202)
  await mail.app.close()
  t.equal(mail.outbox.to(ALICE_EMAIL).length, 1, 'only the mail sent before the account was disabled')
})

t.test('unknown, malformed and wrong-purpose tokens are invalid links', async (t) => {
  const mail = await buildMailApp(t)
  invalidLink(t, await reset(mail, 'A'.repeat(43)), 'an unknown token')
  invalidLink(t, await reset(mail, 'not-a-token'), 'a value of the wrong shape')
  await mail.app.tokenAuth.sendEmailVerification(mail.alice.id)
  const verification = linkTokenOf(await mail.outbox.next(ALICE_EMAIL))
  invalidLink(t, await reset(mail, verification), 'an email-verification token')
  t.equal((await mail.post('/auth/email/verify', { token: verification })).statusCode, 204, 'which still verifies the email')
})

t.test('a new password the policy refuses is a 400 that spends no link', async (t) => {
  const mail = await buildMailApp(t)
  const token = await resetToken(mail)
  for (const weak of ['short', 'x'.repeat(73), 'nul\0inside password']) {
    const res = await reset(mail, token, weak)
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_PASSWORD_REJECTED')
    t.equal(res.headers['www-authenticate'], undefined)
  }
  t.equal((await reset(mail, token)).statusCode, 204, 'the link still works')
})

t.test('bodies that are not the schema, other content types and other sites are refused before any work', async (t) => {
  const mail = await buildMailApp(t)
  const token = 'A'.repeat(43)
  const cases: Array<[string, unknown, Record<string, string>, number, string]> = [
    ['/auth/password/reset', { token, new_password: NEW_PASSWORD, extra: 1 }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/password/reset', { token: 42, new_password: NEW_PASSWORD }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/password/reset', { token: 'A'.repeat(129), new_password: NEW_PASSWORD }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/password/reset', { token }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/password/forgot', { email: 'a'.repeat(255) }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/password/forgot', { email: ALICE_EMAIL, username: 'alice' }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/password/forgot', { email: 'not an address' }, {}, 400, 'FST_TOKEN_AUTH_INVALID_USER'],
    ['/auth/password/forgot', `email=${ALICE_EMAIL}`, { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE'],
    ['/auth/password/forgot', JSON.stringify({ email: ALICE_EMAIL }), { 'content-type': 'text/plain' }, 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE'],
    ['/auth/password/forgot', { email: ALICE_EMAIL }, { 'sec-fetch-site': 'cross-site' }, 403, 'FST_TOKEN_AUTH_CSRF'],
    ['/auth/password/reset', { token, new_password: NEW_PASSWORD }, { origin: 'https://evil.example' }, 403, 'FST_TOKEN_AUTH_CSRF']
  ]
  for (const [url, payload, headers, status, code] of cases) {
    const res = await mail.post(url, payload, headers)
    t.equal(res.statusCode, status, `${url} ${JSON.stringify(payload)} ${JSON.stringify(headers)}`)
    t.equal(res.json().code, code)
    t.equal(res.headers['www-authenticate'], undefined)
  }
  await mail.app.close()
  t.equal(mail.outbox.sent.length, 0, 'nothing was mailed')
})

t.test('failed links from one address are throttled like password guesses: 429 with Retry-After', async (t) => {
  const mail = await buildMailApp(t, { auth: { mailThrottle: { failedLinksPerAddress: 3, window: '10m' } } })
  for (let i = 0; i < 3; i++) invalidLink(t, await reset(mail, 'B'.repeat(43)))
  const throttled = await reset(mail, 'B'.repeat(43))
  t.equal(throttled.statusCode, 429)
  t.equal(throttled.json().code, 'FST_TOKEN_AUTH_RATE_LIMITED')
  t.equal(throttled.headers['retry-after'], '600')
  t.equal(throttled.headers['www-authenticate'], undefined)
  const token = await resetToken(mail)
  t.equal((await reset(mail, token)).statusCode, 429, 'even a valid link waits out the window from that address')
  t.equal((await reset(mail, token, NEW_PASSWORD, '198.51.100.7')).statusCode, 204, 'another address is not held back')
})

t.test('a successful reset takes its own count back', async (t) => {
  const mail = await buildMailApp(t, { auth: { mailThrottle: { failedLinksPerAddress: 2 } } })
  invalidLink(t, await reset(mail, 'C'.repeat(43)))
  t.equal((await reset(mail, await resetToken(mail))).statusCode, 204)
  invalidLink(t, await reset(mail, 'C'.repeat(43)), 'one failure counted, so one more is allowed')
})

t.test('with passwordReset.logIn a reset answers a session, like a login', async (t) => {
  const mail = await buildMailApp(t, { auth: { passwordReset: { logIn: true } } })
  const res = await mail.post('/auth/password/reset', { token: await resetToken(mail), new_password: NEW_PASSWORD, include_refresh_token: true })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { token_type: 'Bearer', user: { id: mail.alice.id, username: 'alice' } })
  t.type(body.refresh_token, 'string')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal((await mail.app.inject({ url: '/me', headers: bearer(body.access_token) })).statusCode, 200, 'the new session works')
  t.match(mail.events.filter((event) => event.type === 'login.succeeded'), [{ userId: mail.alice.id, sessionId: String }])
})

t.test('the routes exist only with the mail option', async (t) => {
  const mail = await buildMailApp(t, { auth: { mail: undefined } })
  for (const url of ['/auth/password/forgot', '/auth/password/reset', '/auth/email/verification', '/auth/email/verify', '/auth/email/change']) {
    t.equal((await mail.post(url, {})).statusCode, 404, url)
  }
})

t.test('options: bounds and unknown names fail at startup', async (t) => {
  const { createAuthCore, createMemoryStore } = await import('fastify-token-auth')
  const secret = 'nO7hX2qL9vR4tW8yB3mK6pD1sF5gJ0cZ-aE_uI4oP8lQ2wY'
  const mail = { transport: { send: async () => {} }, from: 'a@example.com', links: MAIL_LINKS }
  const store = createMemoryStore()
  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a reset link shorter than 5 minutes', { store, mail, passwordReset: { tokenTtl: '1m' } }, /passwordReset.tokenTtl/],
    ['a reset link longer than a day', { store, mail, passwordReset: { tokenTtl: '2d' } }, /passwordReset.tokenTtl/],
    ['logIn not a boolean', { store, mail, passwordReset: { logIn: 'yes' } }, /passwordReset.logIn must be true or false/],
    ['requireVerifiedEmail not a boolean', { store, requireVerifiedEmail: 1 }, /requireVerifiedEmail must be true or false/],
    ['a verification link longer than a week', { store, mail, emailVerification: { tokenTtl: '8d' } }, /emailVerification.tokenTtl/],
    ['a per-email limit of 0', { store, mail, mailThrottle: { perEmail: 0 } }, /mailThrottle.perEmail/],
    ['a window over a day', { store, mail, mailThrottle: { window: '2d' } }, /mailThrottle.window/],
    ['an unknown nested name', { store, mail, passwordReset: { ttl: '1h' } }, /passwordReset.ttl is not an option/],
    ['mail without a store', { mail }, /account mail needs a `store`/]
  ]
  for (const [name, options, message] of refused) {
    t.throws(() => createAuthCore({ secret, ...options }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message }, name)
  }
  const core = createAuthCore({ secret, store, mail })
  t.match(core.options, { requireVerifiedEmail: false, passwordReset: { ttlSeconds: 1800, logIn: false }, emailVerification: { ttlSeconds: 86400 } })
  t.match(core.options.mailThrottle, { requestsPerAddress: 10, mailsPerRecipient: 3, tokenFailuresPerAddress: 20, windowSeconds: 3600 })
})

t.test('a reset keeps the time an already verified email was verified', async (t) => {
  const mail = await buildMailApp(t)
  await mail.app.tokenAuth.sendEmailVerification(mail.alice.id)
  t.equal((await mail.post('/auth/email/verify', { token: linkTokenOf(await mail.outbox.next(ALICE_EMAIL)) })).statusCode, 204)
  const verifiedAt = (await mail.store.users.findById(mail.alice.id))?.emailVerifiedAt
  t.equal((await reset(mail, await resetToken(mail))).statusCode, 204)
  t.equal((await mail.store.users.findById(mail.alice.id))?.emailVerifiedAt, verifiedAt)
})

t.test('the core\'s mail flows without the mail option are a TypeError', async (t) => {
  const { createAuthCore, createMemoryStore } = await import('fastify-token-auth')
  const core = createAuthCore({ secret: 'nO7hX2qL9vR4tW8yB3mK6pD1sF5gJ0cZ-aE_uI4oP8lQ2wY', store: createMemoryStore() })
  await t.rejects(core.resetPassword({ token: 'x', newPassword: NEW_PASSWORD, clientAddress: '192.0.2.1' }), TypeError)
  await t.rejects(core.verifyEmail('x', '192.0.2.1'), TypeError)
})

t.test('over real SMTP: the link in the mail that arrives resets the password', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const mail = await buildMailApp(t, { auth: { mail: { transport: catcher.url, from: 'Example <no-reply@example.com>', links: MAIL_LINKS } } })
  t.equal((await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })).statusCode, 202)
  const received = await catcher.nextMessage(ALICE_EMAIL)
  t.same(received.envelope.to, [ALICE_EMAIL])
  t.match(received.html, `${MAIL_LINKS.passwordReset}#token=`)
  t.equal((await reset(mail, linkTokenOf(received))).statusCode, 204)
  t.equal(await logIn(mail, NEW_PASSWORD), 200)
  t.match((await catcher.nextMessage(ALICE_EMAIL)).subject, /password was changed/)
})
