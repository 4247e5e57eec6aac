/// <reference lib="dom" />
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { build } from '../example-app/src/app.js'
import { browserSkip, launchBrowser, signInAsDemo, visible } from './helpers/browser.js'
import { dataFolder, DEMO_PASSWORD, exampleConfig } from './helpers/example-app.js'

// Cookie tossing in a real browser: a sibling subdomain plants its own refresh
// cookie with Domain= and a longer path, and the victim's page must not renew into that session.

const skip = browserSkip

/** A self-signed certificate for *.example.test, made for this test only. */
async function certificate (folder: string): Promise<{ key: Buffer, cert: Buffer }> {
  const key = join(folder, 'key.pem')
  const cert = join(folder, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=example.test', '-addext', 'subjectAltName=DNS:*.example.test,DNS:example.test'], { stdio: 'ignore' })
  return { key: await readFile(key), cert: await readFile(cert) }
}

t.test('in Chromium: a refresh cookie tossed from a sibling subdomain never signs the victim into the attacker\'s account', { skip }, async (t) => {
  const folder = await dataFolder(t)
  const app = await build(await exampleConfig(t), { logger: false })
  t.teardown(async () => { await app.close() })

  // The attacker's own session, as a non-browser client gets it: the refresh token in the body.
  const attackerLogin = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'viewer', password: DEMO_PASSWORD, include_refresh_token: true } })
  t.equal(attackerLogin.statusCode, 200)
  const attackerRefreshToken: string = attackerLogin.json().refresh_token

  // One HTTPS front: app.example.test is the example app, evil.example.test the attacker's sibling.
  const front = createServer(await certificate(folder), (request, response) => {
    const host = (request.headers.host ?? '').split(':')[0]
    if (host === 'app.example.test') return app.routing(request, response)
    response.setHeader('set-cookie', `__Secure-refresh-token=${attackerRefreshToken}; Domain=example.test; Path=/auth/refresh; Secure; HttpOnly; SameSite=Lax`)
    response.setHeader('content-type', 'text/html')
    response.end('<!doctype html><title>sibling</title><p>Nothing to see here.</p>')
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise((resolve) => front.close(resolve)) })
  const port = (front.address() as AddressInfo).port
  const appOrigin = `https://app.example.test:${port}`

  const { context, page } = await launchBrowser(t, join(folder, 'profile'), {
    args: ['--ignore-certificate-errors', '--host-resolver-rules=MAP *.example.test 127.0.0.1'],
    ignoreHTTPSErrors: true
  })
  const refreshes: number[] = []
  page.on('response', (response) => { if (response.url().endsWith('/auth/refresh')) refreshes.push(response.status()) })

  await page.goto(`${appOrigin}/`)
  await visible(page, '#login-view')
  await signInAsDemo(page)
  t.equal(await page.textContent('#profile-username'), 'demo', 'the victim is signed in as demo')

  await page.goto(`https://evil.example.test:${port}/`)
  const refreshCookies = (await context.cookies(`${appOrigin}/auth/refresh`)).filter((cookie) => cookie.name === '__Secure-refresh-token')
  t.same(refreshCookies.map((cookie) => cookie.domain).sort(), ['.example.test', 'app.example.test'], 'the sibling planted its refresh cookie beside the victim\'s')

  // The access token's cookie lives as long as the token: once expired, the browser no longer has it.
  await context.clearCookies({ name: '__Host-access-token' })
  await page.goto(`${appOrigin}/`)
  await page.waitForSelector('#profile-view:not([hidden]), #login-view:not([hidden])', { timeout: 10_000 })
  t.ok(refreshes.length > 0, 'the page tried to renew its access token')
  t.notOk(refreshes.includes(200), 'the renewal with two refresh cookies was refused')
  const me = await page.evaluate(async () => {
    const response = await fetch('/api/me')
    return { status: response.status, username: response.status === 200 ? (await response.json()).username : undefined }
  })
  t.not(me.username, 'viewer', 'the victim is not working inside the attacker\'s account')
  t.equal(me.status, 401, 'the victim is signed out instead')
  await visible(page, '#login-view')

  // Signing in again works, and gives the victim their own account.
  await signInAsDemo(page)
  t.equal(await page.textContent('#profile-username'), 'demo')
})
