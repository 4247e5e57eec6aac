import t, { type Test } from 'tap'
import { PASSWORD } from './helpers/app.js'
import { ALICE_EMAIL, buildMailApp, MAIL_LINKS, type MailApp } from './helpers/account-mail.js'
import { TestClock } from './helpers/clock.js'
import { linkTokenOf } from './helpers/mail-outbox.js'
import { SmtpCatcher } from './helpers/smtp-catcher.js'
import { createUser, forEachStore } from './helpers/stores.js'

// Email verification: the link the application sends after sign-up, the resend route,
// POST /auth/email/verify, and requireVerifiedEmail at login.

async function verificationToken (mail: MailApp): Promise<string> {
  if (!await mail.app.tokenAuth.sendEmailVerification(mail.alice.id)) throw new Error('nothing was sent')
  return linkTokenOf(await mail.outbox.next(ALICE_EMAIL))
}

const verify = async (mail: MailApp, token: string): ReturnType<MailApp['post']> => await mail.post('/auth/email/verify', { token })

function invalidLink (t: Test, res: Awaited<ReturnType<MailApp['post']>>): void {
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN')
  t.equal(res.headers['www-authenticate'], undefined)
}

forEachStore(t, 'the link the application sends verifies the email, once', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  t.equal(await mail.app.tokenAuth.sendEmailVerification(mail.alice.id), true)
  const message = await mail.outbox.next(ALICE_EMAIL)
  t.ok(message.text.includes(`${MAIL_LINKS.emailVerification}#token=`))
  const token = linkTokenOf(message)
  const res = await verify(mail, token)
  t.equal(res.statusCode, 204)
  t.equal(res.headers['cache-control'], 'no-store')
  t.type((await mail.store.users.findById(mail.alice.id))?.emailVerifiedAt, 'number')
  t.match(mail.events.find((event) => event.type === 'email.verified'), { userId: mail.alice.id, address: '192.0.2.10' })
  invalidLink(t, await verify(mail, token))
  t.equal(await mail.app.tokenAuth.sendEmailVerification(mail.alice.id), false, 'a verified address is sent nothing')
})

forEachStore(t, 'the resend route mails an unverified address, and answers every address alike', async (t, target) => {
  const mail = await buildMailApp(t, { target })
  const known = await mail.post('/auth/email/verification', { email: 'ALICE@example.com' })
  const unknown = await mail.post('/auth/email/verification', { email: 'nobody@example.com' })
  for (const res of [known, unknown]) {
    t.equal(res.statusCode, 202)
    t.equal(res.payload, '')
    t.equal(res.headers['cache-control'], 'no-store')
  }
  t.equal((await verify(mail, linkTokenOf(await mail.outbox.next(ALICE_EMAIL)))).statusCode, 204)
  t.equal((await mail.post('/auth/email/verification', { email: ALICE_EMAIL })).statusCode, 202)
  await mail.app.close()
  t.same(mail.outbox.sent.map((message) => message.to), [ALICE_EMAIL], 'one mail: none to nobody, none once verified')
})

t.test('a link is refused once expired, after the email changed, or for a disabled user', async (t) => {
  const clock = new TestClock()
  const mail = await buildMailApp(t, { auth: { clock, emailVerification: { tokenTtl: '1h' } } })
  const expired = await verificationToken(mail)
  clock.advance(3601 * 1000)
  invalidLink(t, await verify(mail, expired))
  const stale = await verificationToken(mail)
  await mail.app.tokenAuth.accounts.updateUser(mail.alice.id, { email: 'alice@elsewhere.example' })
  invalidLink(t, await verify(mail, stale))
  t.equal((await mail.store.users.findById(mail.alice.id))?.emailVerifiedAt, null, 'the new address is not verified by the old link')
  const disabled = linkTokenOf(await (async () => { await mail.app.tokenAuth.sendEmailVerification(mail.alice.id); return await mail.outbox.next('alice@elsewhere.example') })())
  await mail.app.tokenAuth.accounts.setDisabled(mail.alice.id, true)
  invalidLink(t, await verify(mail, disabled))
  invalidLink(t, await verify(mail, 'D'.repeat(43)))
  invalidLink(t, await verify(mail, '!'))
})

t.test('sendEmailVerification: false without an address, UserNotFoundError for no such user, TypeError without mail', async (t) => {
  const mail = await buildMailApp(t)
  const bob = await createUser(mail.store, { username: 'bob', password: PASSWORD })
  t.equal(await mail.app.tokenAuth.sendEmailVerification(bob.id), false)
  await t.rejects(mail.app.tokenAuth.sendEmailVerification('no-such-id'), { code: 'FST_TOKEN_AUTH_USER_NOT_FOUND' })
  const plain = await buildMailApp(t, { auth: { mail: undefined } })
  await t.rejects(plain.app.tokenAuth.sendEmailVerification(plain.alice.id), TypeError)
})

t.test('sendEmailVerification keeps to the per-email allowance', async (t) => {
  const mail = await buildMailApp(t, { auth: { mailThrottle: { perEmail: 2 } } })
  t.equal(await mail.app.tokenAuth.sendEmailVerification(mail.alice.id), true)
  t.equal(await mail.app.tokenAuth.sendEmailVerification(mail.alice.id), true)
  t.equal(await mail.app.tokenAuth.sendEmailVerification(mail.alice.id), false)
  t.equal(mail.outbox.to(ALICE_EMAIL).length, 2)
})

t.test('requireVerifiedEmail: the password decides first, then an unverified email is a 403 without a session', async (t) => {
  const failures: string[] = []
  const mail = await buildMailApp(t, {
    auth: { requireVerifiedEmail: true },
    routes: { onLoginFailure: ({ reason }) => { failures.push(reason) } }
  })
  const wrong = await mail.post('/auth/login', { username: 'alice', password: 'not the password' })
  t.equal(wrong.statusCode, 401, 'a wrong password is told nothing about the email')
  t.equal(wrong.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  t.equal(wrong.headers['www-authenticate'], 'Bearer realm="api"')
  const unverified = await mail.post('/auth/login', { username: 'alice', password: PASSWORD })
  t.equal(unverified.statusCode, 403)
  t.equal(unverified.json().code, 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED')
  t.equal(unverified.headers['www-authenticate'], undefined)
  t.equal(unverified.headers['set-cookie'], undefined, 'no session and no device cookie')
  t.same(failures, ['wrong_password', 'email_not_verified'])
  t.match(mail.events.filter((event) => event.type === 'login.failed').map((event) => event.type === 'login.failed' && event.reason), ['wrong_password', 'email_not_verified'])
  t.notOk(mail.events.some((event) => event.type === 'login.succeeded'))
  t.equal((await verify(mail, await verificationToken(mail))).statusCode, 204)
  t.equal((await mail.post('/auth/login', { username: 'alice', password: PASSWORD })).statusCode, 200, 'verified, the login goes through')
  const bob = await createUser(mail.store, { username: 'bob', password: PASSWORD })
  const noEmail = await mail.post('/auth/login', { username: bob.username, password: PASSWORD })
  t.equal(noEmail.statusCode, 403, 'an account without an email is unverified too')
  t.equal(noEmail.json().code, 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED')
})

t.test('a password reset proves the address, so it lets a requireVerifiedEmail login through', async (t) => {
  const mail = await buildMailApp(t, { auth: { requireVerifiedEmail: true, passwordReset: { logIn: true } } })
  await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })
  const token = linkTokenOf(await mail.outbox.next(ALICE_EMAIL))
  const res = await mail.post('/auth/password/reset', { token, new_password: 'a brand new passphrase' })
  t.equal(res.statusCode, 200)
  t.equal((await mail.post('/auth/login', { username: 'alice', password: 'a brand new passphrase' })).statusCode, 200)
})

t.test('the verify and resend routes refuse what is not their schema, other content types and other sites', async (t) => {
  const mail = await buildMailApp(t)
  const cases: Array<[string, unknown, Record<string, string>, number, string]> = [
    ['/auth/email/verify', { token: 'E'.repeat(43), extra: true }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/email/verify', { token: '' }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/email/verify', `token=${'E'.repeat(43)}`, { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE'],
    ['/auth/email/verify', { token: 'E'.repeat(43) }, { 'sec-fetch-site': 'same-site', origin: 'https://sibling.example' }, 403, 'FST_TOKEN_AUTH_CSRF'],
    ['/auth/email/verification', { email: ['a@example.com'] }, {}, 400, 'FST_ERR_VALIDATION'],
    ['/auth/email/verification', { email: 'two@@example.com' }, {}, 400, 'FST_TOKEN_AUTH_INVALID_USER'],
    ['/auth/email/verification', { email: ALICE_EMAIL }, { 'sec-fetch-site': 'cross-site' }, 403, 'FST_TOKEN_AUTH_CSRF']
  ]
  for (const [url, payload, headers, status, code] of cases) {
    const res = await mail.post(url, payload, headers)
    t.equal(res.statusCode, status, `${url} ${JSON.stringify(payload)}`)
    t.equal(res.json().code, code)
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('over real SMTP: the link in the mail that arrives verifies the email', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const mail = await buildMailApp(t, { auth: { mail: { transport: catcher.url, from: 'Example <no-reply@example.com>', links: MAIL_LINKS } } })
  t.equal((await mail.post('/auth/email/verification', { email: ALICE_EMAIL })).statusCode, 202)
  const received = await catcher.nextMessage(ALICE_EMAIL)
  t.match(received.text, `${MAIL_LINKS.emailVerification}#token=`)
  t.equal((await verify(mail, linkTokenOf(received))).statusCode, 204)
  t.type((await mail.store.users.findById(mail.alice.id))?.emailVerifiedAt, 'number')
})
