/// <reference lib="dom" />
import { createServer, type AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { build } from '../example-app/src/app.js'
import { browserSkip, launchBrowser, signInAsDemo, submitSignIn, visible } from './helpers/browser.js'
import { dataFolder, DEMO_PASSWORD, exampleConfig } from './helpers/example-app.js'
import { SmtpCatcher } from './helpers/smtp-catcher.js'

// The example app's account pages in Chromium, with its mail sent over a real SMTP exchange to
// an in-process server: the links the tests follow are the ones a user would click in the mail.

const skip = browserSkip
const NEW_PASSWORD = 'a brand new passphrase for viewer'

/** A port free a moment ago: the app's PUBLIC_URL (the links in its mail) names its port before it listens. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

interface RunningExample {
  app: Awaited<ReturnType<typeof build>>
  mail: SmtpCatcher
  origin: string
}

/** The example app on 127.0.0.1, sending its mail to the catcher, and reached by the browser as http://localhost. */
async function startExample (t: Test): Promise<RunningExample> {
  const mail = await SmtpCatcher.start(t)
  const port = await freePort()
  const app = await build(await exampleConfig(t, { MAIL_URL: mail.url, PORT: String(port) }), { logger: false })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port })
  return { app, mail, origin: `http://localhost:${port}` }
}

/** The link of a mail's text part, the way a person would find it. */
function linkIn (text: string): string {
  const link = /https?:\/\/\S+#token=[A-Za-z0-9_-]+/.exec(text)?.[0]
  if (link === undefined) throw new Error(`no link in the mail: ${text}`)
  return link
}

async function statusSays (page: Page, text: string): Promise<string> {
  await page.waitForFunction((expected) => document.getElementById('status')?.textContent?.includes(expected) === true, text, { timeout: 10_000 })
  return await page.textContent('#status') ?? ''
}

t.test('in Chromium: forgot password, the link from the mail, a new password; the old one stops working', { skip }, async (t) => {
  const { mail, origin } = await startExample(t)
  const { page } = await launchBrowser(t, await dataFolder(t))
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await page.click('#forgot-link')
  await page.waitForURL(`${origin}/forgot-password`)
  await page.fill('input[name="email"]', 'Viewer@Example.com')
  await page.click('#forgot-form button[type="submit"]')
  t.match(await statusSays(page, 'on its way'), /^If an account has the address Viewer@Example\.com, a link/)

  const message = await mail.nextMessage('viewer@example.com', { timeoutMs: 10_000 })
  const link = linkIn(message.text)
  t.match(link, new RegExp(`^${origin}/reset-password#token=`), 'the link opens the reset page of PUBLIC_URL, the token in the fragment')

  await page.goto(link)
  await visible(page, '#reset-form')
  t.equal(page.url(), `${origin}/reset-password`, 'the token is wiped from the address bar')
  await page.fill('input[name="new_password"]', NEW_PASSWORD)
  await page.fill('input[name="confirmation"]', NEW_PASSWORD)
  await page.click('#reset-form button[type="submit"]')
  await statusSays(page, 'Your password is changed')
  await page.waitForURL(`${origin}/`)
  await visible(page, '#login-view')

  await submitSignIn(page, 'viewer', DEMO_PASSWORD)
  t.equal(await statusSays(page, 'Wrong'), 'Wrong username or password.', 'the old password fails')
  await submitSignIn(page, 'viewer', NEW_PASSWORD)
  await visible(page, '#profile-view')
  t.equal(await page.textContent('#profile-username'), 'viewer', 'the new one signs in')

  await page.goto(link)
  await visible(page, '#reset-form')
  await page.fill('input[name="new_password"]', 'yet another passphrase here')
  await page.fill('input[name="confirmation"]', 'yet another passphrase here')
  await page.click('#reset-form button[type="submit"]')
  t.match(await statusSays(page, 'not valid'), /^This link is not valid any more/, 'the link works once')
})

t.test('in Chromium: an unverified address is verified through the mailed link, and the account shows it', { skip }, async (t) => {
  const { app, mail, origin } = await startExample(t)
  await app.tokenAuth.accounts.createUser({ username: 'newcomer', email: 'newcomer@example.com', password: DEMO_PASSWORD })
  const { page } = await launchBrowser(t, await dataFolder(t))
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await submitSignIn(page, 'newcomer', DEMO_PASSWORD)
  await statusSays(page, 'not verified yet')
  await visible(page, '#resend-verification-form')
  await page.fill('#resend-verification-form input[name="email"]', 'newcomer@example.com')
  await page.click('#resend-verification-form button[type="submit"]')
  await statusSays(page, 'on its way')

  const link = linkIn((await mail.nextMessage('newcomer@example.com', { timeoutMs: 10_000 })).text)
  t.match(link, new RegExp(`^${origin}/verify-email#token=`))
  await page.goto(link)
  t.equal(await statusSays(page, 'verified'), 'Your email address is verified. Thank you!')
  t.equal(page.url(), `${origin}/verify-email`, 'the token is wiped from the address bar')
  t.type((await app.tokenAuth.accounts.findUserByUsername('newcomer'))?.emailVerifiedAt, 'number')

  await page.goto(`${origin}/`)
  await submitSignIn(page, 'newcomer', DEMO_PASSWORD)
  await visible(page, '#profile-view')
  t.equal(await page.textContent('#profile-email-state'), 'verified')
  t.ok(await page.isHidden('#verify-prompt'))
})

t.test('in Chromium: the sessions panel lists both browsers, and ending the other one signs it out', { skip }, async (t) => {
  const { origin } = await startExample(t)
  const first = (await launchBrowser(t, await dataFolder(t), { userAgent: 'FirstBrowser/1.0' })).page
  const second = (await launchBrowser(t, await dataFolder(t), { userAgent: 'SecondBrowser/2.0' })).page
  for (const page of [first, second]) {
    await page.goto(`${origin}/`)
    await visible(page, '#login-view')
    await signInAsDemo(page)
  }
  await first.click('#sessions-reload-button')
  await first.waitForFunction(() => document.querySelectorAll('#sessions-list tr').length === 2)
  const rows = await first.$$eval('#sessions-list tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)))
  t.same(rows.map((cells) => cells[3]).sort(), ['FirstBrowser/1.0', 'SecondBrowser/2.0'], 'each session with its browser')
  t.same(rows.find((cells) => cells[3] === 'FirstBrowser/1.0')?.[4], 'this device')
  t.ok(rows.every((cells) => cells[2] === '127.0.0.1'), 'and the address it signed in from')

  await first.click('#sessions-list tr:not(.current) button.end-session')
  await statusSays(first, 'That session is signed out')
  await first.waitForFunction(() => document.querySelectorAll('#sessions-list tr').length === 1)

  t.equal(await second.evaluate(async () => (await fetch('/api/me')).status), 401, 'the other browser\'s next request is refused')
  await second.reload()
  await visible(second, '#login-view')
  await first.reload()
  await visible(first, '#profile-view')
})

t.test('in Chromium: the admin panel lists, searches and pages the users, and unlocks a locked-out one', { skip }, async (t) => {
  const { app, origin } = await startExample(t)
  await Promise.all(Array.from({ length: 20 }, async (_, i) => await app.tokenAuth.accounts.createUser({ username: `user${String(i).padStart(2, '0')}`, password: DEMO_PASSWORD })))
  for (let i = 0; i < 5; i++) await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer', password: 'not the password' } })
  t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer', password: DEMO_PASSWORD } })).statusCode, 429, 'viewer is locked out')

  const { page } = await launchBrowser(t, await dataFolder(t))
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await signInAsDemo(page)
  await visible(page, '#admin-panel')
  const usernames = async (): Promise<string[]> => await page.$$eval('#users-list tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.username ?? ''))
  await page.waitForFunction(() => document.querySelectorAll('#users-list tr').length === 20)
  t.same((await usernames()).slice(0, 3), ['demo', 'user00', 'user01'], 'the first page, by username')
  await visible(page, '#users-next-button')
  await page.click('#users-next-button')
  await page.waitForFunction(() => document.querySelector('#users-list tr')?.getAttribute('data-username') === 'user19')
  t.same(await usernames(), ['user19', 'viewer'], 'the next page')
  t.ok(await page.isHidden('#users-next-button'), 'and no page after it')

  await page.fill('#user-search-form input[name="search"]', 'VIEW')
  await page.click('#user-search-form button[type="submit"]')
  await page.waitForFunction(() => document.querySelectorAll('#users-list tr').length === 1)
  t.same(await usernames(), ['viewer'])
  await page.click('#users-list tr[data-username="viewer"] button.unlock')
  await statusSays(page, 'viewer may try to sign in again')
  t.equal((await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer', password: DEMO_PASSWORD } })).statusCode, 200, 'viewer signs in again')
})

t.test('in Chromium: a user without the admin role sees no admin panel', { skip }, async (t) => {
  const { origin } = await startExample(t)
  const { page } = await launchBrowser(t, await dataFolder(t))
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await submitSignIn(page, 'viewer', DEMO_PASSWORD)
  await visible(page, '#profile-view')
  await visible(page, '#sessions-panel')
  t.ok(await page.isHidden('#admin-panel'))
})
