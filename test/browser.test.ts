/// <reference lib="dom" />
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { build } from '../example-app/src/app.js'
import { browserSkip, launchBrowser, signInAsDemo, visible } from './helpers/browser.js'
import { dataFolder, exampleConfig } from './helpers/example-app.js'

// The example app in a real browser: Debian's Chromium driven by playwright-core.

const ARTIFACTS = join(import.meta.dirname, '..', 'test-results')
const skip = browserSkip

const SETUPS = [
  {
    // http://localhost is a secure context, so the Secure and __Host- cookies are kept.
    title: 'secure cookies on http://localhost',
    env: {},
    host: 'localhost',
    secure: true,
    names: { access: '__Host-access-token', csrf: '__Host-csrf-token', refresh: '__Secure-refresh-token', device: '__Secure-device' }
  },
  {
    // What COOKIE_SECURE=false is for: plain HTTP on a host other than localhost.
    title: 'COOKIE_SECURE=false on a plain-HTTP host',
    env: { COOKIE_SECURE: 'false' },
    host: 'app.example.test',
    secure: false,
    names: { access: 'access-token', csrf: 'csrf-token', refresh: 'refresh-token', device: 'device' }
  }
]

for (const setup of SETUPS) {
  t.test(`in Chromium, ${setup.title}: sign in, stay signed in across reloads and token expiry, refresh, sign out`, { skip }, async (t) => {
    const app = await build(await exampleConfig(t, { ACCESS_TOKEN_TTL: '2s', ...setup.env }), { logger: false })
    t.teardown(async () => { await app.close() })
    const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
    const origin = `http://${setup.host}:${address.port}`

    const { context, page } = await launchBrowser(t, await dataFolder(t), { args: ['--host-resolver-rules=MAP *.example.test 127.0.0.1'] })
    const refreshes: number[] = []
    page.on('response', (response) => { if (response.url().endsWith('/auth/refresh')) refreshes.push(response.status()) })

    await page.goto(`${origin}/`)
    await visible(page, '#login-view')
    await signInAsDemo(page)
    t.equal(await page.textContent('#profile-username'), 'demo')
    t.equal(await page.textContent('#profile-roles'), 'admin')

    const cookies = Object.fromEntries((await context.cookies()).map((cookie) => [cookie.name, cookie]))
    t.same(Object.keys(cookies).sort(), Object.values(setup.names).sort(), 'the browser holds the session cookies under the server\'s names')
    t.match(cookies[setup.names.access], { httpOnly: true, secure: setup.secure, sameSite: 'Strict', path: '/' })
    t.match(cookies[setup.names.refresh], { httpOnly: true, secure: setup.secure, path: '/auth' })
    const pageCookies = await page.evaluate(() => document.cookie)
    t.notMatch(pageCookies, /access-token|refresh-token/, 'the token cookies are invisible to document.cookie')
    t.match(pageCookies, new RegExp(`^${setup.names.csrf}=`), 'the CSRF cookie is readable, as it must be')
    if (setup.secure) {
      await mkdir(ARTIFACTS, { recursive: true })
      await page.screenshot({ path: join(ARTIFACTS, 'example-app-signed-in.png'), fullPage: true })
    }

    await page.reload()
    await visible(page, '#profile-view')
    t.equal(await page.textContent('#profile-username'), 'demo', 'still signed in after a reload')

    await page.waitForTimeout(3200)
    await page.reload()
    await visible(page, '#profile-view')
    t.ok(refreshes.includes(200), 'after the access token expired, the page renewed it with the refresh cookie')

    await page.click('#admin-button')
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('admin area') === true)
    const renewals = refreshes.length
    await page.click('#refresh-button')
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('New access') === true)
    t.same(refreshes.slice(renewals), [200], 'the Refresh button renewed the tokens')

    const logout = page.waitForResponse((response) => response.url().endsWith('/auth/logout'))
    await page.click('#logout-button')
    t.equal((await logout).status(), 204, 'the server accepted the logout and its CSRF token')
    await visible(page, '#login-view')
    t.same((await context.cookies()).map((cookie) => cookie.name), [setup.names.device], 'only the device cookie is left')
    const status = await page.evaluate(async () => (await fetch('/api/me')).status)
    t.equal(status, 401, '/api/me answers 401 after logout')
    await page.reload()
    await visible(page, '#login-view')
  })
}

t.test('in Chromium: a wrong password shows an error and no session', { skip }, async (t) => {
  const app = await build(await exampleConfig(t), { logger: false })
  t.teardown(async () => { await app.close() })
  const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
  const { context, page } = await launchBrowser(t, await dataFolder(t))
  await page.goto(`http://localhost:${address.port}/`)
  await page.fill('input[name="username"]', 'demo')
  await page.fill('input[name="password"]', 'not the password')
  await page.click('#login-form button[type="submit"]')
  await page.waitForFunction(() => document.getElementById('status')?.className === 'error')
  t.equal(await page.textContent('#status'), 'Wrong username or password.')
  t.same((await context.cookies()).map((cookie) => cookie.name), [])
})
