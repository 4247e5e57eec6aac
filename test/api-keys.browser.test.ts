/// <reference lib="dom" />
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { build } from '../example-app/src/app.js'
import { browserSkip, launchBrowser, signInAsDemo, submitSignIn, visible } from './helpers/browser.js'
import { dataFolder, DEMO_PASSWORD, exampleConfig } from './helpers/example-app.js'

// The example app's "API keys" panel in Chromium: a key made in the page, read off the page
// once, used by a program (fetch from the test, as curl would), then revoked in the page.

const skip = browserSkip

/** The example app on 127.0.0.1 at a port of its own, reached by the browser as http://localhost. */
async function startExample (t: Test): Promise<string> {
  const app = await build(await exampleConfig(t, { PORT: '0' }), { logger: false })
  t.teardown(async () => { await app.close() })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on a port')
  return `http://localhost:${address.port}`
}

/** A program's call with the key: no cookie, no browser, the key in the Authorization header. */
async function callWithKey (origin: string, path: string, key: string): Promise<{ status: number, body: Record<string, unknown>, challenge: string | null }> {
  const res = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${key}` } })
  return { status: res.status, body: await res.json() as Record<string, unknown>, challenge: res.headers.get('www-authenticate') }
}

async function statusSays (page: Page, text: string): Promise<string> {
  await page.waitForFunction((expected) => document.getElementById('status')?.textContent?.includes(expected) === true, text, { timeout: 10_000 })
  return await page.textContent('#status') ?? ''
}

async function keyRows (page: Page): Promise<string[][]> {
  return await page.$$eval('#api-keys-list tr[data-key-id]', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')))
}

/** Fills the panel's form and returns the key the page shows once. */
async function createKeyInPage (page: Page, name: string, scopes: string[]): Promise<string> {
  await page.fill('#api-key-form input[name="name"]', name)
  for (const scope of scopes) await page.check(`#api-key-scopes input[value="${scope}"]`)
  await page.selectOption('#api-key-form select[name="expires_in"]', String(7 * 86400))
  await page.click('#api-key-form button[type="submit"]')
  await visible(page, '#api-key-created')
  return await page.inputValue('#api-key-value')
}

async function signedIn (t: Test, origin: string): Promise<Page> {
  const { context, page } = await launchBrowser(t, await dataFolder(t))
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin })
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await signInAsDemo(page)
  await visible(page, '#api-keys-panel')
  await page.waitForSelector('#api-key-scopes input[value="admin:read"]')
  return page
}

t.test('in Chromium: a scoped key made in the page works for a program until it is revoked in the page', { skip }, async (t) => {
  const origin = await startExample(t)
  const page = await signedIn(t, origin)
  const key = await createKeyInPage(page, 'report script', ['profile:read'])
  t.match(key, /^fta_test_[0-9A-Za-z]{49}$/, 'the page shows the whole key')
  t.match(await page.textContent('#api-key-created'), /shown only this once/)
  t.match(await statusSays(page, 'is created'), /report script/)

  t.same(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie.includes('fta_'), location.href]), [0, 0, false, `${origin}/`],
    'the key is in no storage, cookie or address')
  await page.click('#api-key-copy-button')
  await statusSays(page, 'copied')
  t.equal(await page.evaluate(async () => await navigator.clipboard.readText()), key, 'Copy puts it on the clipboard')

  const me = await callWithKey(origin, '/api/me', key)
  t.equal(me.status, 200)
  t.match(me.body, { username: 'demo', authMethod: 'api_key' })
  const admin = await callWithKey(origin, '/api/admin', key)
  t.equal(admin.status, 403, 'the key holds profile:read only')
  t.equal(admin.body.code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(admin.challenge, /error="insufficient_scope"/)
  const sessions = await callWithKey(origin, '/auth/sessions', key)
  t.equal(sessions.status, 401, 'a route not opened to keys refuses it')
  t.equal(sessions.body.code, 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED')

  await page.click('#api-key-done-button')
  t.ok(await page.isHidden('#api-key-created'))
  t.equal(await page.inputValue('#api-key-value'), '', 'once copied, the key leaves the page')
  const [before] = await keyRows(page)
  t.same(before?.slice(0, 3), ['report script', `${key.slice(0, 15)}…`, 'profile:read'], 'listed by name, its start and scopes')
  t.equal(before?.[4], 'never', 'not used when the list was read')
  await page.click('#api-keys-reload-button')
  await page.waitForFunction(() => document.querySelector('#api-keys-list tr[data-key-id] td:nth-child(5)')?.textContent !== 'never')
  t.pass('reloaded, the list shows when the program used the key')
  const pageText = await page.evaluate(() => [document.documentElement.outerHTML, document.body.innerText, ...Array.from(document.querySelectorAll('input'), (input) => input.value)].join('\n'))
  t.notOk(pageText.includes(key.slice(15)), 'the secret is nowhere in the page any more, not even in a field\'s value')

  await page.click('#api-keys-list button.rename-key')
  await page.fill('#api-keys-list form.rename input[name="name"]', 'nightly report')
  await page.click('#api-keys-list form.rename button[type="submit"]')
  await statusSays(page, 'nightly report')
  await page.waitForFunction(() => document.querySelector('#api-keys-list td.key-name')?.textContent === 'nightly report')

  await page.click('#api-keys-list button.revoke-key')
  await statusSays(page, 'is revoked')
  await page.waitForFunction(() => document.querySelectorAll('#api-keys-list tr[data-key-id]').length === 0)
  const refused = await callWithKey(origin, '/api/me', key)
  t.equal(refused.status, 401, 'the revoked key is refused')
  t.equal(refused.body.code, 'FST_TOKEN_AUTH_INVALID_API_KEY')
  t.match(refused.challenge, /error="invalid_token"/)
})

t.test('in Chromium: revoke all ends every key after a confirmation', { skip }, async (t) => {
  const origin = await startExample(t)
  const page = await signedIn(t, origin)
  const reader = await createKeyInPage(page, 'reader', ['profile:read'])
  await page.click('#api-key-done-button')
  const admin = await createKeyInPage(page, 'admin tool', ['admin:read'])
  await page.waitForFunction(() => document.querySelectorAll('#api-keys-list tr[data-key-id]').length === 2)
  t.equal((await callWithKey(origin, '/api/admin', admin)).status, 200)

  page.once('dialog', (dialog) => { t.match(dialog.message(), /Revoke all 2 API keys/); dialog.dismiss() })
  await page.click('#api-keys-revoke-all-button')
  t.equal((await callWithKey(origin, '/api/me', reader)).status, 200, 'dismissed: nothing revoked')

  page.once('dialog', (dialog) => { dialog.accept() })
  await page.click('#api-keys-revoke-all-button')
  await statusSays(page, '2 key(s) revoked')
  await page.waitForFunction(() => document.querySelector('#api-keys-list')?.textContent === 'No API keys yet.')
  for (const [key, path] of [[reader, '/api/me'], [admin, '/api/admin']] as const) {
    const res = await callWithKey(origin, path, key)
    t.equal(res.status, 401, path)
    t.equal(res.body.code, 'FST_TOKEN_AUTH_INVALID_API_KEY', path)
  }
})

t.test('in Chromium: a user without the admin role is offered only the scopes their roles grant', { skip }, async (t) => {
  const origin = await startExample(t)
  const { page } = await launchBrowser(t, await dataFolder(t))
  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await submitSignIn(page, 'viewer', DEMO_PASSWORD)
  await visible(page, '#api-keys-panel')
  await page.waitForSelector('#api-key-scopes input[value="profile:read"]')
  t.same(await page.$$eval('#api-key-scopes input', (boxes) => boxes.map((box) => (box as HTMLInputElement).value)), ['profile:read'])

  await page.fill('#api-key-form input[name="name"]', 'no scopes')
  await page.click('#api-key-form button[type="submit"]')
  t.match(await statusSays(page, 'at least one scope'), /^Tick at least one scope/, 'a key that could call nothing is not made')
  t.ok(await page.isHidden('#api-key-created'))
})
