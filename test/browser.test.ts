/// <reference lib="dom" />
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import t from 'tap'
import { build } from '../example-app/src/app.js'
import { browserSkip, CHROMIUM, CHROMIUM_ARGS, signInAsDemo, visible } from './helpers/browser.js'
import { dataFolder, exampleConfig } from './helpers/example-app.js'

// The example app in a real browser: Debian's Chromium driven by playwright-core.

const ARTIFACTS = join(import.meta.dirname, '..', 'test-results')
const skip = browserSkip

t.test('in Chromium: sign in, stay signed in across reloads and token expiry, sign out', { skip }, async (t) => {
  const app = await build(await exampleConfig(t, { ACCESS_TOKEN_TTL: '2s' }), { logger: false })
  t.teardown(async () => { await app.close() })
  const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
  // http://localhost is a secure context, so the Secure and __Host- cookies are kept.
  const origin = `http://localhost:${address.port}`

  const context: BrowserContext = await chromium.launchPersistentContext(await dataFolder(t), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  t.teardown(async () => { await context.close() })
  const page = context.pages()[0] ?? await context.newPage()
  const refreshes: number[] = []
  page.on('response', (response) => { if (response.url().endsWith('/auth/refresh')) refreshes.push(response.status()) })

  await page.goto(`${origin}/`)
  await visible(page, '#login-view')
  await signInAsDemo(page)
  t.equal(await page.textContent('#profile-username'), 'demo')
  t.equal(await page.textContent('#profile-roles'), 'admin')

  const cookies = Object.fromEntries((await context.cookies()).map((cookie) => [cookie.name, cookie]))
  t.match(cookies['__Host-access-token'], { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })
  t.match(cookies['__Secure-refresh-token'], { httpOnly: true, path: '/auth' })
  const pageCookies = await page.evaluate(() => document.cookie)
  t.notMatch(pageCookies, /access-token|refresh-token/, 'the token cookies are invisible to document.cookie')
  t.match(pageCookies, /__Host-csrf-token=/, 'the CSRF cookie is readable, as it must be')
  await mkdir(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, 'example-app-signed-in.png'), fullPage: true })

  await page.reload()
  await visible(page, '#profile-view')
  t.equal(await page.textContent('#profile-username'), 'demo', 'still signed in after a reload')

  await page.waitForTimeout(3200)
  await page.reload()
  await visible(page, '#profile-view')
  t.ok(refreshes.includes(200), 'after the access token expired, the page renewed it with the refresh cookie')

  await page.click('#admin-button')
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('admin area') === true)
  await page.click('#refresh-button')
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('New access') === true)

  await page.click('#logout-button')
  await visible(page, '#login-view')
  const status = await page.evaluate(async () => (await fetch('/api/me')).status)
  t.equal(status, 401, '/api/me answers 401 after logout')
  await page.reload()
  await visible(page, '#login-view')
})

t.test('in Chromium: a wrong password shows an error and no session', { skip }, async (t) => {
  const app = await build(await exampleConfig(t), { logger: false })
  t.teardown(async () => { await app.close() })
  const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
  const context = await chromium.launchPersistentContext(await dataFolder(t), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  t.teardown(async () => { await context.close() })
  const page = context.pages()[0] ?? await context.newPage()
  await page.goto(`http://localhost:${address.port}/`)
  await page.fill('input[name="username"]', 'demo')
  await page.fill('input[name="password"]', 'not the password')
  await page.click('#login-form button[type="submit"]')
  await page.waitForFunction(() => document.getElementById('status')?.className === 'error')
  t.equal(await page.textContent('#status'), 'Wrong username or password.')
  t.same((await context.cookies()).map((cookie) => cookie.name), [])
})
