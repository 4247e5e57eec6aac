import t from 'tap'
import { PASSWORD } from './helpers/app.js'
import { ALICE_EMAIL, buildMailApp, MAIL_LINKS, type MailApp } from './helpers/account-mail.js'
import { bearer } from './helpers/forge.js'
import { linkTokenOf } from './helpers/mail-outbox.js'
import { SmtpCatcher } from './helpers/smtp-catcher.js'
import { login } from './helpers/session.js'
import { createUser, forEachStore } from './helpers/stores.js'

// POST /auth/email/change: the password confirms it, a link to the new address makes it,
// the old address hears of both.

const NEW_EMAIL = 'alice@new.example'

async function requestChange (mail: MailApp, body: Record<string, unknown>, headers?: Record<string, string>): ReturnType<MailApp['post']> {
  const { accessToken } = await login(mail.app, {}, '192.0.2.10')
  return await mail.post('/auth/email/change', { new_email: NEW_EMAIL, current_password: PASSWORD, ...body }, headers ?? bearer(accessToken))
}

forEachStore(t, 'an email change: a link to the new address, a notice to the old, and the change only when the link is followed', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const res = await requestChange(mail, { new_email: 'Alice@New.Example' })
  t.equal(res.statusCode, 202)
  t.equal(res.payload, '')
  t.equal(res.headers['cache-control'], 'no-store')
  const link = await mail.outbox.next(NEW_EMAIL)
  const notice = await mail.outbox.next(ALICE_EMAIL)
  t.match(notice.text, NEW_EMAIL, 'the old address is told which address was asked for')
  t.notMatch(notice.text, /#token=/, 'and gets no link')
  t.equal((await mail.store.users.findById(mail.alice.id))?.email, ALICE_EMAIL, 'nothing changed yet')
  const verified = await mail.post('/auth/email/verify', { token: linkTokenOf(link) })
  t.equal(verified.statusCode, 204)
  const user = await mail.store.users.findById(mail.alice.id)
  t.equal(user?.email, NEW_EMAIL)
  t.type(user?.emailVerifiedAt, 'number')
  const changed = await mail.outbox.next(ALICE_EMAIL)
  t.match(changed.text, NEW_EMAIL, 'the old address hears that the change was made')
  t.same(mail.events.filter((event) => event.type.startsWith('email.')).map((event) => event.type), ['email.change_requested', 'email.changed'])
  t.match(mail.events.find((event) => event.type === 'email.change_requested'), { userId: mail.alice.id, sessionId: String, address: '192.0.2.10' })
  t.notOk(JSON.stringify(mail.events).includes(NEW_EMAIL), 'no event carries an address')
  await mail.post('/auth/password/forgot', { email: NEW_EMAIL })
  t.ok(linkTokenOf(await mail.outbox.next(NEW_EMAIL)), 'a reset now goes to the new address')
})

forEachStore(t, 'an address that belongs to someone else gets the same 202 and no mail', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  await createUser(mail.store, { username: 'bob', password: PASSWORD, email: NEW_EMAIL })
  const res = await requestChange(mail, {})
  t.equal(res.statusCode, 202)
  await mail.app.close()
  t.same(mail.outbox.sent, [], 'neither the taken address nor the old one got anything')
})

t.test('the address taken between the request and the link: 409, and nothing changes', async (t) => {
  const mail = await buildMailApp(t)
  t.equal((await requestChange(mail, {})).statusCode, 202)
  const token = linkTokenOf(await mail.outbox.next(NEW_EMAIL))
  await createUser(mail.store, { username: 'bob', password: PASSWORD, email: NEW_EMAIL })
  const res = await mail.post('/auth/email/verify', { token })
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_EMAIL_TAKEN')
  t.equal(res.headers['www-authenticate'], undefined)
  t.equal((await mail.store.users.findById(mail.alice.id))?.email, ALICE_EMAIL)
})

t.test('of two pending changes, the first followed voids the other', async (t) => {
  const mail = await buildMailApp(t)
  t.equal((await requestChange(mail, {})).statusCode, 202)
  t.equal((await requestChange(mail, { new_email: 'alice@other.example' })).statusCode, 202)
  const first = linkTokenOf(await mail.outbox.next(NEW_EMAIL))
  const second = linkTokenOf(await mail.outbox.next('alice@other.example'))
  t.equal((await mail.post('/auth/email/verify', { token: second })).statusCode, 204)
  const res = await mail.post('/auth/email/verify', { token: first })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN')
  t.equal((await mail.store.users.findById(mail.alice.id))?.email, 'alice@other.example')
})

t.test('a user without an email adds one: only the new address is mailed', async (t) => {
  const mail = await buildMailApp(t)
  await createUser(mail.store, { username: 'bob', password: PASSWORD })
  const { accessToken } = await login(mail.app, { username: 'bob' })
  t.equal((await mail.post('/auth/email/change', { new_email: 'bob@example.com', current_password: PASSWORD }, bearer(accessToken))).statusCode, 202)
  t.equal((await mail.post('/auth/email/verify', { token: linkTokenOf(await mail.outbox.next('bob@example.com')) })).statusCode, 204)
  await mail.app.close()
  t.same(mail.outbox.sent.map((message) => message.to), ['bob@example.com'])
})

t.test('refusals: no token, a wrong password, a bad address, a cookie without its CSRF header, a bad body', async (t) => {
  const mail = await buildMailApp(t)
  const session = await login(mail.app)
  const post = async (body: unknown, headers: Record<string, string>): ReturnType<MailApp['post']> => await mail.post('/auth/email/change', body, headers)
  const valid = { new_email: NEW_EMAIL, current_password: PASSWORD }
  const cases: Array<[string, unknown, Record<string, string>, number, string, string | RegExp | undefined]> = [
    ['no token', valid, {}, 401, 'FST_TOKEN_AUTH_NO_TOKEN', 'Bearer realm="api"'],
    ['a wrong password', { ...valid, current_password: 'not the password' }, bearer(session.accessToken), 401, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS', 'Bearer realm="api"'],
    ['not an address', { ...valid, new_email: 'no at sign' }, bearer(session.accessToken), 400, 'FST_TOKEN_AUTH_INVALID_USER', undefined],
    ['an extra field', { ...valid, email: NEW_EMAIL }, bearer(session.accessToken), 400, 'FST_ERR_VALIDATION', undefined],
    ['a cookie without the CSRF header', valid, { cookie: session.cookieHeader }, 403, 'FST_TOKEN_AUTH_CSRF', undefined]
  ]
  for (const [name, body, headers, status, code, challenge] of cases) {
    const res = await post(body, headers)
    t.equal(res.statusCode, status, name)
    t.equal(res.json().code, code, name)
    if (challenge === undefined) t.equal(res.headers['www-authenticate'], undefined, name)
    else t.equal(res.headers['www-authenticate'], challenge, name)
  }
  t.equal((await post(valid, { cookie: session.cookieHeader, 'x-csrf-token': session.csrfToken })).statusCode, 202, 'with the CSRF header a cookie session may')
  t.match(mail.events.find((event) => event.type === 'login.failed'), { reason: 'wrong_password', userId: mail.alice.id })
})

t.test('wrong current passwords count toward the login lockout', async (t) => {
  const mail = await buildMailApp(t, { auth: { throttle: { maxAccountFailures: 2 } } })
  const { accessToken } = await login(mail.app)
  const wrong = { new_email: NEW_EMAIL, current_password: 'not the password' }
  t.equal((await mail.post('/auth/email/change', wrong, bearer(accessToken))).statusCode, 401)
  t.equal((await mail.post('/auth/email/change', wrong, bearer(accessToken))).statusCode, 401)
  const locked = await mail.post('/auth/email/change', { ...wrong, current_password: PASSWORD }, bearer(accessToken))
  t.equal(locked.statusCode, 429)
  t.equal(locked.json().code, 'FST_TOKEN_AUTH_LOGIN_THROTTLED')
  t.ok(Number(locked.headers['retry-after']) > 0)
})

t.test('past the new address\'s mail allowance the answer is the same 202 and nothing is sent', async (t) => {
  const mail = await buildMailApp(t, { auth: { mailThrottle: { perEmail: 1 } } })
  t.equal((await requestChange(mail, {})).statusCode, 202)
  t.equal((await requestChange(mail, {})).statusCode, 202)
  await mail.app.close()
  t.equal(mail.outbox.to(NEW_EMAIL).length, 1)
})

t.test('the email changed between reading the user and writing the change: the link is refused and nothing is written', async (t) => {
  const mail = await buildMailApp(t)
  t.equal((await requestChange(mail, {})).statusCode, 202)
  const token = linkTokenOf(await mail.outbox.next(NEW_EMAIL))
  const users = mail.store.users as { update: typeof mail.store.users.update }
  const update = users.update.bind(mail.store.users)
  users.update = async (id, change) => {
    users.update = update
    await mail.app.tokenAuth.accounts.updateUser(mail.alice.id, { email: 'alice@meanwhile.example' })
    return await update(id, change)
  }
  const res = await mail.post('/auth/email/verify', { token })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN')
  t.equal((await mail.store.users.findById(mail.alice.id))?.email, 'alice@meanwhile.example')
})

t.test('over real SMTP: the new address gets the link, the old one both notices, and the link changes the email', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const mail = await buildMailApp(t, { auth: { mail: { transport: catcher.url, from: 'Example <no-reply@example.com>', links: MAIL_LINKS } } })
  t.equal((await requestChange(mail, {})).statusCode, 202)
  const link = await catcher.nextMessage(NEW_EMAIL)
  t.match((await catcher.nextMessage(ALICE_EMAIL)).text, NEW_EMAIL)
  t.equal((await mail.post('/auth/email/verify', { token: linkTokenOf(link) })).statusCode, 204)
  t.match((await catcher.nextMessage(ALICE_EMAIL)).text, NEW_EMAIL)
  t.equal((await mail.store.users.findById(mail.alice.id))?.email, NEW_EMAIL)
})

t.test('an email change asked for a user who no longer exists is refused as a revoked token, and mails nothing', async (t) => {
  const { createAuthCore, createMemoryStore } = await import('fastify-token-auth')
  const sent: string[] = []
  const core = createAuthCore({
    secret: 'nO7hX2qL9vR4tW8yB3mK6pD1sF5gJ0cZ-aE_uI4oP8lQ2wY',
    store: createMemoryStore(),
    mail: { transport: { send: async (message) => { sent.push(message.to) } }, from: 'no-reply@example.com', links: { passwordReset: 'https://app.example/reset', emailVerification: 'https://app.example/verify' } }
  })
  t.teardown(async () => { await core.stop() })
  // A token still valid for a user deleted a moment ago: the route's authentication and the deletion raced.
  await t.rejects(core.requestEmailChange({ userId: '00000000-0000-4000-8000-000000000000', newEmail: 'new@example.com', currentPassword: 'whatever it is', clientAddress: '192.0.2.1' }), { code: 'FST_TOKEN_AUTH_TOKEN_REVOKED' })
  t.same(sent, [])
})
