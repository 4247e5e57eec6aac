/// <reference lib="dom" />
import { readFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import type { BrowserContext, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { build } from '../example-app/src/app.js'
import { AuthenticatorApp } from './helpers/authenticator-app.js'
import { browserSkip, launchBrowser, submitSignIn, visible } from './helpers/browser.js'
import { dataFolder, DEMO_PASSWORD, exampleConfig } from './helpers/example-app.js'

// The example app's second factors in Chromium: an authenticator app enrolled in the page
// (the test reads the key shown and computes the codes as a phone would), recovery codes
// downloaded and used, and a passkey made and used through Chromium's virtual authenticator.

const skip = browserSkip

/** A port free a moment ago: PUBLIC_URL (the passkeys' origin) names the port before the app listens. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** The example app on 127.0.0.1, reached by the browser as http://localhost (a secure context for WebAuthn). */
async function startExample (t: Test): Promise<string> {
  const port = await freePort()
  const app = await build(await exampleConfig(t, { PORT: String(port) }), { logger: false })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port })
  return `http://localhost:${port}`
}

async function statusSays (page: Page, text: string): Promise<string> {
  await page.waitForFunction((expected) => document.getElementById('status')?.textContent?.includes(expected) === true, text, { timeout: 10_000 })
  return await page.textContent('#status') ?? ''
}

/** A platform authenticator with a PIN or fingerprint, as a laptop has: discoverable credentials, the user verified. */
async function addVirtualAuthenticator (context: BrowserContext, page: Page): Promise<{ credentials: () => Promise<unknown[]> }> {
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true }
  })
  return { credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials }
}

async function signOut (page: Page): Promise<void> {
  await page.click('#logout-button')
  await visible(page, '#login-view')
}

/** The password step; the page then asks for the second factor. */
async function passwordStep (page: Page, username: string): Promise<void> {
  await submitSignIn(page, username, DEMO_PASSWORD)
  await visible(page, '#mfa-view')
}

async function amrShown (page: Page): Promise<string> {
  return await page.textContent('#security-session') ?? ''
}

/** Enrolls the app in the security panel: the key read off the page, the first code typed, the recovery codes shown. */
async function enrollInPage (t: Test, page: Page): Promise<{ phone: AuthenticatorApp, codes: string[] }> {
  await page.fill('#security-password', DEMO_PASSWORD)
  await page.click('#totp-begin-button')
  await visible(page, '#totp-enrollment')
  const secret = (await page.textContent('#totp-secret') ?? '').trim()
  t.match(secret, /^[A-Z2-7]{32}$/, 'the key is shown for typing into the app')
  await page.waitForFunction(() => (document.getElementById('totp-qr') as HTMLImageElement | null)?.complete === true && (document.getElementById('totp-qr') as HTMLImageElement).naturalWidth > 0)
  t.match(await page.getAttribute('#totp-qr', 'src'), /^data:image\/svg\+xml;base64,/, 'the QR code is an image of the server\'s SVG, rendered under the CSP')
  t.equal(await page.$$eval('#security-panel svg, #security-panel script', (nodes) => nodes.length), 0, 'no SVG or script put into the page itself')
  const phone = new AuthenticatorApp(secret)
  await page.fill('#totp-confirm-form input[name="code"]', phone.nextCode())
  await page.click('#totp-confirm-form button[type="submit"]')
  await statusSays(page, 'The authenticator app is on')
  await visible(page, '#recovery-codes')
  const codes = await page.$$eval('#recovery-codes-list li', (items) => items.map((item) => item.textContent ?? ''))
  t.equal(codes.length, 10, 'ten recovery codes, shown once')
  t.ok(await page.isHidden('#totp-enrollment'), 'the key leaves the page once confirmed')
  t.equal(await page.textContent('#totp-secret'), '')
  return { phone, codes }
}

t.test('in Chromium: an authenticator app enrolled in the page, recovery codes downloaded, then sign-in with the password and a code', { skip }, async (t) => {
  const origin = await startExample(t)
  const { context, page } = await launchBrowser(t, await dataFolder(t))
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await submitSignIn(page, 'demo', DEMO_PASSWORD)
  await visible(page, '#security-panel')
  await page.waitForFunction(() => document.getElementById('totp-state')?.textContent === 'off')
  t.match(await amrShown(page), /password\.$/)

  const { phone, codes } = await enrollInPage(t, page)
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#recovery-codes-download-button')])
  t.equal(download.suggestedFilename(), 'recovery-codes.txt')
  const file = await readFile(await download.path(), 'utf8')
  t.ok(codes.every((code) => file.includes(`\n${code}\n`)), 'the file holds every code, one a line')
  await page.click('#recovery-codes-done-button')
  t.equal(await page.$$eval('#recovery-codes-list li', (items) => items.length), 0, 'saved: the codes leave the page')
  t.equal(await page.textContent('#totp-state'), 'on')
  t.same(await page.evaluate(() => [localStorage.length, sessionStorage.length]), [0, 0], 'nothing kept in storage')

  await signOut(page)
  await passwordStep(page, 'demo')
  const cookieNames = (await context.cookies()).map((cookie) => cookie.name)
  t.notOk(cookieNames.some((name) => name.includes('access') || name.includes('refresh')), 'the password alone set no session cookie')
  t.equal(await page.evaluate(async () => (await fetch('/api/me')).status), 401, 'and the API refuses this browser')
  await page.fill('#mfa-code-form input[name="code"]', phone.wrongCode())
  await page.click('#mfa-code-form button[type="submit"]')
  await statusSays(page, 'That code is not right')
  await page.fill('#mfa-code-form input[name="code"]', phone.nextCode())
  await page.click('#mfa-code-form button[type="submit"]')
  await visible(page, '#profile-view')
  t.match(await statusSays(page, 'Signed in as demo'), /demo/)
  await page.waitForFunction(() => document.getElementById('security-session')?.textContent?.includes('one-time code') === true)
  t.match(await amrShown(page), /password \+ one-time code/)

  await page.click('#audit-button')
  await page.waitForFunction(() => (document.getElementById('audit-list')?.children.length ?? 0) > 0)
  t.match(await page.textContent('#audit-list'), /mfa\.totp_enabled/, 'the audit log opens for an admin signed in with a second factor')

  await signOut(page)
  await passwordStep(page, 'demo')
  await page.click('#mfa-use-recovery-button')
  await visible(page, '#mfa-recovery-form')
  await page.fill('#mfa-recovery-form input[name="recovery_code"]', codes[0])
  await page.click('#mfa-recovery-form button[type="submit"]')
  await visible(page, '#profile-view')
  await page.waitForFunction(() => /9 unused recovery code/.test(document.getElementById('recovery-codes-left')?.textContent ?? ''))
  t.pass('a recovery code signs in, and one fewer is left')

  await signOut(page)
  await passwordStep(page, 'demo')
  await page.click('#mfa-use-recovery-button')
  await page.fill('#mfa-recovery-form input[name="recovery_code"]', codes[0])
  await page.click('#mfa-recovery-form button[type="submit"]')
  await statusSays(page, 'That code is not right')
  t.ok(await page.isVisible('#mfa-view'), 'the same recovery code a second time is refused')
  t.equal(await page.evaluate(async () => (await fetch('/api/me')).status), 401)
})

t.test('in Chromium: a passkey added through the virtual authenticator signs in alone, without the password', { skip }, async (t) => {
  const origin = await startExample(t)
  const { context, page } = await launchBrowser(t, await dataFolder(t))
  const authenticator = await addVirtualAuthenticator(context, page)
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await visible(page, '#passkey-login-button')
  await submitSignIn(page, 'viewer', DEMO_PASSWORD)
  await visible(page, '#passkey-add-form')

  await page.fill('#passkey-add-form input[name="name"]', 'this laptop')
  await page.click('#passkey-add-form button[type="submit"]')
  await statusSays(page, 'Type your password')
  await page.fill('#security-password', DEMO_PASSWORD)
  await page.fill('#passkey-add-form input[name="name"]', 'this laptop')
  await page.click('#passkey-add-form button[type="submit"]')
  t.match(await statusSays(page, 'is added'), /this laptop/)
  t.equal((await authenticator.credentials()).length, 1, 'the authenticator holds one discoverable credential')
  await visible(page, '#recovery-codes')
  t.equal(await page.$$eval('#recovery-codes-list li', (items) => items.length), 10, 'a first factor comes with recovery codes')
  await page.waitForFunction(() => document.querySelector('#passkeys-list td.passkey-name')?.textContent === 'this laptop')

  const rename = async (name: string): Promise<void> => {
    await page.click('#passkeys-list button.rename-passkey')
    await page.fill('#passkeys-list form.rename input[name="name"]', name)
    await page.click('#passkeys-list form.rename button[type="submit"]')
  }
  await rename('work laptop')
  t.match(await statusSays(page, 'second factor'), /^This needs a session signed in with your second factor/,
    'with a factor on, this password-only session changes nothing more')

  await signOut(page)
  await page.click('#passkey-login-button')
  await visible(page, '#profile-view')
  t.match(await statusSays(page, 'Signed in as viewer'), /viewer/, 'no username, no password: the passkey names the user')
  await page.waitForFunction(() => document.getElementById('security-session')?.textContent?.includes('passkey') === true)
  t.match(await amrShown(page), /passkey \+ PIN or biometric on the device/)
  await page.waitForFunction(() => document.querySelector('#passkeys-list td:nth-child(3)')?.textContent !== 'never')
  t.pass('the list shows when the passkey was last used')
  await rename('work laptop')
  await statusSays(page, 'is now called “work laptop”')
  await page.waitForFunction(() => document.querySelector('#passkeys-list td.passkey-name')?.textContent === 'work laptop')

  await signOut(page)
  await passwordStep(page, 'viewer')
  t.ok(await page.isHidden('#mfa-code-form'), 'no authenticator app: no code asked')
  await page.click('#mfa-passkey-button')
  await visible(page, '#profile-view')
  t.match(await amrShown(page), /password \+ passkey/, 'the passkey as the second step after the password')

  await page.fill('#security-password', DEMO_PASSWORD)
  await page.click('#passkeys-list button.remove-passkey')
  await statusSays(page, 'is removed')
  await page.waitForFunction(() => document.getElementById('passkeys-list')?.textContent === 'No passkeys yet.')
  await signOut(page)
  await submitSignIn(page, 'viewer', DEMO_PASSWORD)
  await visible(page, '#profile-view')
  t.pass('with its last factor gone, the password alone signs in again')
})

t.test('in Chromium: a stolen password alone gets no session from an account with a second factor', { skip }, async (t) => {
  const origin = await startExample(t)
  const owner = await launchBrowser(t, await dataFolder(t))
  await owner.page.goto(`${origin}/`)
  await visible(owner.page, '#login-view')
  await submitSignIn(owner.page, 'demo', DEMO_PASSWORD)
  await visible(owner.page, '#security-panel')
  await owner.page.waitForFunction(() => document.getElementById('totp-state')?.textContent === 'off')
  await enrollInPage(t, owner.page)

  const thief = await launchBrowser(t, await dataFolder(t))
  await thief.page.goto(`${origin}/`)
  await visible(thief.page, '#login-view')
  await passwordStep(thief.page, 'demo')
  t.equal(await thief.page.evaluate(async () => (await fetch('/api/me')).status), 401, 'the API refuses the thief')
  t.equal(await thief.page.evaluate(async () => (await fetch('/auth/sessions')).status), 401)
  const cookies = (await thief.context.cookies()).map((cookie) => cookie.name)
  t.notOk(cookies.some((name) => name.includes('access') || name.includes('refresh')), 'no session cookie in the thief\'s browser')
  await thief.page.reload()
  await visible(thief.page, '#login-view')
  t.pass('reloaded, the thief is back at the password form')
})
