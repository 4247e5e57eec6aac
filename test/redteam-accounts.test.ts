import t, { type Test } from 'tap'
import { adminRoutes, createMemoryStore } from 'fastify-token-auth'
import { ALICE_EMAIL, buildMailApp, NEW_PASSWORD, type MailApp } from './helpers/account-mail.js'
import { buildApp, PASSWORD } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { linkTokenOf } from './helpers/mail-outbox.js'
import { login } from './helpers/session.js'
import { createUser, forEachStore } from './helpers/stores.js'

// Attacks on accounts: a pending email change outliving the password it was asked with,
// addresses that mail software reads as another mailbox, and client input that the
// databases refuse (a 503 the client caused).

const ATTACKER_EMAIL = 'attacker@evil.example'

/** Someone signed in as alice (password known) asks to move her email to their own address; their link. */
async function hijackEmail (t: Test, mail: MailApp): Promise<string> {
  const { accessToken } = await login(mail.app)
  t.equal((await mail.post('/auth/email/change', { new_email: ATTACKER_EMAIL, current_password: PASSWORD }, bearer(accessToken))).statusCode, 202)
  const link = linkTokenOf(await mail.outbox.next(ATTACKER_EMAIL))
  t.match((await mail.outbox.next(ALICE_EMAIL)).text, 'reset your password now', 'alice is told of the change, and told to reset her password')
  return link
}

async function assertLinkRefused (t: Test, mail: MailApp, token: string): Promise<void> {
  const res = await mail.post('/auth/email/verify', { token })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN')
  t.equal(res.headers['www-authenticate'], undefined)
  t.equal((await mail.store.users.findById(mail.alice.id))?.email, ALICE_EMAIL, 'the email stays hers')
}

t.test('a password reset voids an email change asked for before it: the change\'s link no longer takes the account', async (t) => {
  const mail = await buildMailApp(t)
  const hijack = await hijackEmail(t, mail)
  await mail.post('/auth/password/forgot', { email: ALICE_EMAIL })
  t.equal((await mail.post('/auth/password/reset', { token: linkTokenOf(await mail.outbox.next(ALICE_EMAIL)), new_password: NEW_PASSWORD })).statusCode, 204)
  await assertLinkRefused(t, mail, hijack)
})

t.test('a password change, by the user or by an administrator, voids an email change asked for before it', async (t) => {
  for (const by of ['user', 'administrator']) {
    const mail = await buildMailApp(t)
    const hijack = await hijackEmail(t, mail)
    if (by === 'user') {
      const { accessToken } = await login(mail.app)
      t.equal((await mail.post('/auth/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(accessToken))).statusCode, 200)
    } else {
      await mail.app.tokenAuth.accounts.changePassword(mail.alice.id, NEW_PASSWORD)
    }
    await assertLinkRefused(t, mail, hijack)
  }
})

t.test('an email change whose password changes between the link\'s check and its write is refused and writes nothing', async (t) => {
  const mail = await buildMailApp(t)
  const { accessToken } = await login(mail.app)
  await mail.post('/auth/email/change', { new_email: 'alice@new.example', current_password: PASSWORD }, bearer(accessToken))
  const token = linkTokenOf(await mail.outbox.next('alice@new.example'))
  const users = mail.store.users as { update: typeof mail.store.users.update }
  const update = users.update.bind(mail.store.users)
  users.update = async (id, change) => {
    users.update = update
    await mail.app.tokenAuth.accounts.changePassword(mail.alice.id, NEW_PASSWORD)
    return await update(id, change)
  }
  await assertLinkRefused(t, mail, token)
})

t.test('an email change still goes through when the password is unchanged, and a plain verification link survives a password change', async (t) => {
  const mail = await buildMailApp(t)
  t.ok(await mail.app.tokenAuth.sendEmailVerification(mail.alice.id))
  const verification = linkTokenOf(await mail.outbox.next(ALICE_EMAIL))
  await mail.app.tokenAuth.accounts.changePassword(mail.alice.id, NEW_PASSWORD)
  t.equal((await mail.post('/auth/email/verify', { token: verification })).statusCode, 204, 'the link to her own address proves it still')
  const { accessToken } = await login(mail.app, { password: NEW_PASSWORD })
  await mail.post('/auth/email/change', { new_email: 'alice@new.example', current_password: NEW_PASSWORD }, bearer(accessToken))
  t.equal((await mail.post('/auth/email/verify', { token: linkTokenOf(await mail.outbox.next('alice@new.example')) })).statusCode, 204)
  t.equal((await mail.store.users.findById(mail.alice.id))?.email, 'alice@new.example')
})

// Each is one @ and no spaces, yet nodemailer (and mail software generally) mails it elsewhere:
// a display name, a comment, a list, a group, a quoted part, a domain literal.
const MAILED_ELSEWHERE = [
  'corp.example<attacker@evil.example>',
  '<attacker@evil.example>corp.example',
  'attacker@evil.example(corp.example)',
  'victim,attacker@evil.example',
  'team:attacker@evil.example;',
  '"v"attacker@evil.example',
  'attacker\\@evil.example',
  'attacker@[192.0.2.1]',
  'attacker@evil.example\uFF1Ccorp' // a fullwidth < that NFKC turns into <
]

t.test('an address mail software reads as another mailbox, or several, is refused with 400 and nothing is mailed', async (t) => {
  const mail = await buildMailApp(t)
  const { accessToken } = await login(mail.app)
  for (const address of MAILED_ELSEWHERE) {
    for (const [url, body, headers] of [
      ['/auth/email/change', { new_email: address, current_password: PASSWORD }, bearer(accessToken)],
      ['/auth/password/forgot', { email: address }, {}],
      ['/auth/email/verification', { email: address }, {}]
    ] as const) {
      const res = await mail.post(url, body, headers)
      t.equal(res.statusCode, 400, `${url} ${address}`)
      t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_USER')
      t.equal(res.headers['www-authenticate'], undefined)
    }
    await t.rejects(mail.app.tokenAuth.accounts.createUser({ username: 'mallory', password: PASSWORD, email: address }), { code: 'FST_TOKEN_AUTH_INVALID_USER' })
  }
  await mail.app.close()
  t.same(mail.outbox.sent, [], 'no mail went anywhere')
})

t.test('ordinary addresses with a plus, an apostrophe, a dot or non-ASCII letters are still accepted', async (t) => {
  const mail = await buildMailApp(t)
  for (const address of ['alice+news@example.com', "o'brien@example.com", 'first.last@sub.example.com', 'jürgen@bücher.example']) {
    t.equal((await mail.post('/auth/password/forgot', { email: address })).statusCode, 202, address)
  }
})

forEachStore(t, 'a login from a client address longer than any IP address (trustProxy: true) gets its session, not a 503', async (t, target) => {
  const store = await target.create(t)
  await createUser(store, { username: 'alice', password: PASSWORD })
  const app = await buildApp(t, { auth: { store }, routes: {}, fastify: { trustProxy: true } })
  const forwarded = { 'x-forwarded-for': `${'f'.repeat(300)}, 192.0.2.1`, 'user-agent': 'Mozilla/5.0' }
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD, include_refresh_token: true }, headers: forwarded })
  t.equal(res.statusCode, 200)
  const { access_token: accessToken, refresh_token: refreshToken } = res.json()
  t.equal((await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken }, headers: forwarded })).statusCode, 200, 'and refreshes it from there')
  const list = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(accessToken) })
  t.equal(list.statusCode, 200)
  t.equal(list.json().sessions[0].client_address, 'f'.repeat(64), 'the address as far as a session keeps one')
})

forEachStore(t, 'admin routes: a user id or page cursor with a control character is a 400, not a 503', async (t, target) => {
  const store = await target.create(t)
  await createUser(store, { username: 'alice', password: PASSWORD, roles: ['admin'] })
  const app = await buildApp(t, { auth: { store }, routes: {}, setup (app) { app.register(adminRoutes, { prefix: '/manage' }) } })
  const admin = bearer((await login(app)).accessToken)
  for (const [method, url] of [
    ['GET', '/manage/users/a%00b'],
    ['PATCH', '/manage/users/a%00b'],
    ['POST', '/manage/users/a%00b/unlock'],
    ['GET', '/manage/users/a%00b/sessions'],
    ['DELETE', '/manage/users/a%00b/sessions'],
    ['DELETE', '/manage/users/a/sessions/b%00'],
    ['GET', '/manage/users?after=a%00'],
    ['GET', '/manage/users?after=a%1F']
  ] as const) {
    const res = await app.inject({ method, url, headers: admin, ...(method === 'PATCH' ? { payload: { roles: [] } } : {}) })
    t.equal(res.statusCode, 400, `${method} ${url}`)
    t.equal(res.json().code, 'FST_ERR_VALIDATION')
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('the memory store pages users in byte order: a username beyond U+FFFF is on its page, not skipped', async (t) => {
  const store = createMemoryStore()
  for (const username of ['a\uFFFD', 'a\u{1F600}', 'b']) await createUser(store, { username, password: PASSWORD })
  const seen: string[] = []
  let after: string | undefined
  for (let pages = 0; pages < 5; pages++) {
    const page = await store.users.list({ after, limit: 1 })
    if (page.length === 0) break
    seen.push(page[0].username)
    after = page[0].username
  }
  t.same(seen, ['a\uFFFD', 'a\u{1F600}', 'b'])
})
