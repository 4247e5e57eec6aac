/// <reference lib="dom" />
import { existsSync } from 'node:fs'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { DEMO_PASSWORD } from './example-app.js'

// Debian's Chromium driven by playwright-core; never a downloaded browser.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// A closed network: no background traffic, no updates, no first-run pages.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']

/** Skipped with the reason on a machine without Chromium, unless REQUIRE_BROWSER=1 (CI), where it must run. */
export const browserSkip: string | false = existsSync(CHROMIUM) || process.env.REQUIRE_BROWSER === '1' ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`

/** A headless browser with a profile in `folder`, closed in teardown. */
export async function launchBrowser (t: { teardown: (fn: () => Promise<void>) => void }, folder: string, options: { args?: string[] | undefined, ignoreHTTPSErrors?: boolean | undefined, userAgent?: string | undefined } = {}): Promise<{ context: BrowserContext, page: Page }> {
  const context = await chromium.launchPersistentContext(folder, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...options.args ?? []], ignoreHTTPSErrors: options.ignoreHTTPSErrors === true, ...options.userAgent === undefined ? {} : { userAgent: options.userAgent } })
  t.teardown(async () => { await context.close() })
  return { context, page: context.pages()[0] ?? await context.newPage() }
}

export async function visible (page: Page, selector: string): Promise<void> {
  await page.waitForSelector(`${selector}:not([hidden])`, { timeout: 10_000 })
}

/** Fills and sends the page's sign-in form. */
export async function submitSignIn (page: Page, username: string, password: string): Promise<void> {
  await page.fill('input[name="username"]', username)
  await page.fill('input[name="password"]', password)
  await page.click('#login-form button[type="submit"]')
}

/** Signs in as the demo user through the page's form and waits for the profile. */
export async function signInAsDemo (page: Page): Promise<void> {
  await submitSignIn(page, 'demo', DEMO_PASSWORD)
  await visible(page, '#profile-view')
}
