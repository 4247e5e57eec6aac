import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { build, passkeyOptions } from '../example-app/src/app.js'
import { AuditTrail } from '../example-app/src/audit-trail.js'
import { loadConfig } from '../example-app/src/config.js'
import { AuthenticatorApp, hotp } from './helpers/authenticator-app.js'
import { buildExample, DEMO_PASSWORD, EXAMPLE_ROOT, exampleConfig } from './helpers/example-app.js'
import { bearer } from './helpers/forge.js'
import { cookiesOf } from './helpers/session.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'

// The example app's second factors over HTTP, as its page uses them: an authenticator app
// enrolled at /auth/mfa, the two-step login at /auth/login and /auth/login/mfa, recovery
// codes, passkeys (a software authenticator for http://localhost:3000, the default
// PUBLIC_URL), and the audit log that asks for a session signed in with a second factor.

type ExampleApp = Awaited<ReturnType<typeof buildExample>>

// The origin of the default PUBLIC_URL: passkeys are bound to it.
const ORIGIN = 'http://localhost:3000'
const MFA_KEY = 'Zr4t9Qw2Lx7Vb1Nm8Kp3Hs6Dj0Fg5AyTe3Wc'

async function login (app: ExampleApp, username: string, password = DEMO_PASSWORD): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password } })
}

async function passwordSession (app: ExampleApp, username: string): Promise<string> {
  const res = await login(app, username)
  if (res.statusCode !== 200 || res.json().access_token === undefined) throw new Error(`no session: ${res.statusCode} ${res.payload}`)
  return res.json().access_token
}

async function secondStep (app: ExampleApp, proof: Record<string, unknown>, username = 'demo'): Promise<LightMyRequestResponse> {
  const first = await login(app, username)
  if (first.json().mfa_required !== true) throw new Error(`no second step: ${first.statusCode} ${first.payload}`)
  return await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.json().mfa_token, ...proof } })
}

/** Turns the app on for the user of `session`: the enrolled app and the recovery codes shown once. */
async function enrollTotp (app: ExampleApp, session: string): Promise<{ phone: AuthenticatorApp, recoveryCodes: string[], secret: string, qrSvg: string }> {
  const begun = await app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: bearer(session), payload: { current_password: DEMO_PASSWORD } })
  if (begun.statusCode !== 200) throw new Error(`enrollment refused: ${begun.statusCode} ${begun.payload}`)
  const { secret, qr_svg: qrSvg } = begun.json()
  const phone = new AuthenticatorApp(secret)
  const confirmed = await app.inject({ method: 'POST', url: '/auth/mfa/totp/confirm', headers: bearer(session), payload: { code: phone.nextCode() } })
  if (confirmed.statusCode !== 200) throw new Error(`confirmation refused: ${confirmed.statusCode} ${confirmed.payload}`)
  return { phone, recoveryCodes: confirmed.json().recovery_codes, secret, qrSvg }
}

async function me (app: ExampleApp, token: string): Promise<LightMyRequestResponse> {
  return await app.inject({ url: '/api/me', headers: bearer(token) })
}

async function addPasskey (app: ExampleApp, session: string, authenticator: SoftAuthenticator, name: string): Promise<LightMyRequestResponse> {
  const options = await app.inject({ method: 'POST', url: '/auth/mfa/passkeys/options', headers: bearer(session), payload: { current_password: DEMO_PASSWORD } })
  if (options.statusCode !== 200) throw new Error(`no options: ${options.statusCode} ${options.payload}`)
  return await app.inject({ method: 'POST', url: '/auth/mfa/passkeys', headers: bearer(session), payload: { name, response: authenticator.register(options.json()) } })
}

async function passkeyLogin (app: ExampleApp, authenticator: SoftAuthenticator): Promise<LightMyRequestResponse> {
  const options = await app.inject({ method: 'POST', url: '/auth/login/passkey/options', payload: {} })
  return await app.inject({ method: 'POST', url: '/auth/login/passkey', payload: { response: authenticator.assert(options.json()) } })
}

t.test('the test\'s authenticator app computes RFC 6238\'s SHA-1 vector', async (t) => {
  // RFC 6238 Appendix B: T = 59 s is step 1; 94287082 in 8 digits, 287082 in the 6 the app shows.
  t.equal(hotp(Buffer.from('12345678901234567890'), 1), '287082')
  t.equal(new AuthenticatorApp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').nextCode(59_000), '287082', 'from the base32 key')
})

t.test('an authenticator app is enrolled with the QR code and confirmed with a first code; recovery codes come once', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const session = await passwordSession(app, 'demo')
  const before = await app.inject({ url: '/auth/mfa', headers: bearer(session) })
  t.same(before.json(), { totp: 'off', recovery_codes_left: 0, passkeys: [] })

  const { recoveryCodes, secret, qrSvg } = await enrollTotp(app, session)
  t.match(secret, /^[A-Z2-7]{32}$/, '20 random bytes in base32')
  t.match(qrSvg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  t.notMatch(qrSvg, /<script|on[a-z]+=/i, 'nothing in the SVG would run, were it ever inlined')
  t.equal(recoveryCodes.length, 10)
  for (const code of recoveryCodes) t.match(code, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/)
  t.same((await app.inject({ url: '/auth/mfa', headers: bearer(session) })).json(), { totp: 'on', recovery_codes_left: 10, passkeys: [] })
  t.same((await me(app, session)).json().amr, ['pwd'], 'the session that enrolled still signed in with the password alone')
})

t.test('with the app on, the right password alone gets no session: the second step with a code does', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const { phone } = await enrollTotp(app, await passwordSession(app, 'demo'))

  const first = await login(app, 'demo')
  t.equal(first.statusCode, 200)
  t.equal(first.headers['cache-control'], 'no-store')
  const body = first.json()
  t.same(Object.keys(body).sort(), ['expires_in', 'methods', 'mfa_required', 'mfa_token'])
  t.same(body.methods, ['totp', 'recovery_code'])
  t.equal(first.headers['set-cookie'], undefined, 'no cookie: nothing a browser would send later')
  t.equal((await me(app, body.mfa_token)).statusCode, 401, 'the mfa_token is no access token')

  const wrong = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: body.mfa_token, code: phone.wrongCode() } })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'FST_TOKEN_AUTH_INVALID_MFA_CODE')
  const second = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: body.mfa_token, code: phone.nextCode() } })
  t.equal(second.statusCode, 200, 'a wrong code does not end the step: the user may retype')
  const profile = await me(app, second.json().access_token)
  t.equal(profile.statusCode, 200)
  t.same(profile.json().amr, ['pwd', 'otp', 'mfa'])
})

t.test('a recovery code signs in once; the same code again is refused', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const { recoveryCodes } = await enrollTotp(app, await passwordSession(app, 'viewer'))
  const [code] = recoveryCodes
  const used = await secondStep(app, { recovery_code: code.toUpperCase().replace('-', ' ') }, 'viewer')
  t.equal(used.statusCode, 200, 'typed in capitals with a space: the same code')
  t.same((await me(app, used.json().access_token)).json().amr, ['pwd', 'otp', 'mfa'])
  t.equal((await app.inject({ url: '/auth/mfa', headers: bearer(used.json().access_token) })).json().recovery_codes_left, 9)
  const again = await secondStep(app, { recovery_code: code }, 'viewer')
  t.equal(again.statusCode, 401)
  t.equal(again.json().code, 'FST_TOKEN_AUTH_INVALID_MFA_CODE')
})

t.test('the audit log is for admins signed in with a second factor: a password alone, a viewer and an API key are refused', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const passwordOnly = await passwordSession(app, 'demo')
  const refused = await app.inject({ url: '/api/admin/audit', headers: bearer(passwordOnly) })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'FST_TOKEN_AUTH_MFA_REQUIRED')
  t.match(refused.headers['www-authenticate'], /error="insufficient_scope"/)
  const viewer = await app.inject({ url: '/api/admin/audit', headers: bearer(await passwordSession(app, 'viewer')) })
  t.equal(viewer.statusCode, 403)
  t.equal(viewer.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', 'the role is checked first')
  const key = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(passwordOnly), payload: { name: 'auditor', scopes: ['admin:read'] } })
  const byKey = await app.inject({ url: '/api/admin/audit', headers: bearer(key.json().key) })
  t.equal(byKey.statusCode, 401)
  t.equal(byKey.json().code, 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED')

  const { phone } = await enrollTotp(app, passwordOnly)
  const signedIn = await secondStep(app, { code: phone.nextCode() })
  const audit = await app.inject({ url: '/api/admin/audit', headers: bearer(signedIn.json().access_token) })
  t.equal(audit.statusCode, 200)
  t.equal(audit.headers['cache-control'], 'no-store')
  const events = audit.json().events as Array<{ type: string, username?: string, authMethods?: string[] }>
  t.match(events[0], { type: 'login.succeeded', username: 'demo', authMethods: ['pwd', 'otp', 'mfa'] }, 'newest first')
  t.ok(events.some((event) => event.type === 'login.mfa_required'))
  t.ok(events.some((event) => event.type === 'mfa.totp_enabled'))
  t.ok(events.some((event) => event.type === 'mfa.recovery_codes_generated'))
  t.notMatch(audit.payload, /"(?:secret|code|token|password)"/, 'no secret in an event')
})

t.test('the audit trail keeps the latest events, newest first', async (t) => {
  const trail = new AuditTrail(3)
  t.same(trail.latest(), [])
  for (let i = 1; i <= 5; i++) trail.add({ type: 'session.refreshed', at: i, userId: 'u', sessionId: 's' })
  t.same(trail.latest().map((event) => event.at), [5, 4, 3])
})

t.test('passkeys: added in a session, then sign-in with the passkey alone, or as the second step after the password', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const session = await passwordSession(app, 'viewer')
  const authenticator = new SoftAuthenticator({ origin: ORIGIN })
  const added = await addPasskey(app, session, authenticator, 'work laptop')
  t.equal(added.statusCode, 201)
  t.match(added.json().passkey, { id: authenticator.id, name: 'work laptop', last_used_at: null })
  t.equal(added.json().recovery_codes.length, 10, 'a first factor comes with recovery codes')
  t.equal(authenticator.rpId, 'localhost', 'the relying party is PUBLIC_URL\'s host')

  const alone = await passkeyLogin(app, authenticator)
  t.equal(alone.statusCode, 200)
  t.same((await me(app, alone.json().access_token)).json().amr, ['hwk', 'user', 'mfa'])

  const first = await login(app, 'viewer')
  t.same(first.json().methods, ['recovery_code', 'passkey'])
  const options = await app.inject({ method: 'POST', url: '/auth/login/mfa/passkey-options', payload: { mfa_token: first.json().mfa_token } })
  t.same(options.json().allowCredentials.map((credential: { id: string }) => credential.id), [authenticator.id])
  const second = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.json().mfa_token, passkey: authenticator.assert(options.json()) } })
  t.equal(second.statusCode, 200)
  t.same((await me(app, second.json().access_token)).json().amr, ['pwd', 'hwk', 'mfa'])

  const elsewhere = new SoftAuthenticator({ origin: 'http://localhost:4000' })
  const wrongOrigin = await addPasskey(app, second.json().access_token, elsewhere, 'phishing page')
  t.equal(wrongOrigin.statusCode, 400, 'a passkey made for another origin is refused')
})

t.test('a browser\'s second step sets the session cookies; the password step set none', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const { phone } = await enrollTotp(app, await passwordSession(app, 'demo'))
  const browser = { host: 'localhost:3000', origin: ORIGIN, 'sec-fetch-site': 'same-origin' }
  const first = await app.inject({ method: 'POST', url: '/auth/login', headers: browser, payload: { username: 'demo', password: DEMO_PASSWORD } })
  t.equal(first.json().mfa_required, true)
  t.same(cookiesOf(first), {}, 'no cookie from the password alone')
  const second = await app.inject({ method: 'POST', url: '/auth/login/mfa', headers: browser, payload: { mfa_token: first.json().mfa_token, code: phone.nextCode() } })
  t.equal(second.statusCode, 200)
  t.ok(cookiesOf(second)[app.tokenAuth.cookieNames.accessToken], 'the access cookie')
  const third = await app.inject({ method: 'POST', url: '/auth/login', headers: browser, payload: { username: 'demo', password: DEMO_PASSWORD } })
  const crossSite = await app.inject({ method: 'POST', url: '/auth/login/mfa', headers: { host: 'localhost:3000', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, payload: { mfa_token: third.json().mfa_token, code: phone.wrongCode() } })
  t.equal(crossSite.statusCode, 403, 'login CSRF: another site cannot finish a sign-in')
  t.equal(crossSite.json().code, 'FST_TOKEN_AUTH_CSRF')
})

t.test('MFA_KEY: kept in the data folder when unset (0600), reused after a restart; the app\'s codes still work', async (t) => {
  const config = await exampleConfig(t)
  const first = await buildExample(t, config)
  const { phone } = await enrollTotp(first, await passwordSession(first, 'demo'))
  const file = join(config.dataDir, 'mfa-key')
  t.equal((await stat(file)).mode & 0o777, 0o600)
  const key = await readFile(file, 'utf8')
  t.match(key, /^[A-Za-z0-9_-]{64}\n$/)
  t.not(key, await readFile(join(config.dataDir, 'token-secret'), 'utf8'), 'its own secret, not the token secret')
  await first.close()
  const second = await buildExample(t, config)
  t.equal((await secondStep(second, { code: phone.nextCode() })).statusCode, 200, 'the TOTP secret still decrypts')
})

t.test('MFA_KEY from the environment encrypts the secrets: another key cannot read them', async (t) => {
  const config = await exampleConfig(t, { MFA_KEY })
  const first = await buildExample(t, config)
  const { phone } = await enrollTotp(first, await passwordSession(first, 'demo'))
  await first.close()
  const other = await buildExample(t, { ...config, mfaKey: MFA_KEY.split('').reverse().join('') })
  const res = await secondStep(other, { code: phone.nextCode() })
  t.equal(res.statusCode, 401, 'a secret sealed with another key is no secret here')
})

t.test('MFA_KEY configuration: required in production, 32 characters or more, never the token secret', async (t) => {
  t.equal(loadConfig({}, EXAMPLE_ROOT).mfaKey, undefined, 'development: kept in the data folder')
  t.equal(loadConfig({ MFA_KEY: '' }, EXAMPLE_ROOT).mfaKey, undefined, 'empty counts as unset')
  t.equal(loadConfig({ MFA_KEY }, EXAMPLE_ROOT).mfaKey, MFA_KEY)
  const production = { NODE_ENV: 'production', TOKEN_SECRET: 'VjwD2x2t8YIcdQfgEtj1FzOCNDX80KICCJMf376zscO4', MAIL_URL: 'smtps://smtp.example.com:465', PUBLIC_URL: 'https://app.example.com' }
  t.equal(loadConfig({ ...production, MFA_KEY }, EXAMPLE_ROOT).mfaKey, MFA_KEY)
  const bad: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [production, /^MFA_KEY is required when NODE_ENV=production/],
    [{ MFA_KEY: 'x'.repeat(31) }, /^MFA_KEY must be at least 32 random characters$/],
    [{ TOKEN_SECRET: MFA_KEY, MFA_KEY }, /^MFA_KEY must differ from TOKEN_SECRET$/]
  ]
  for (const [env, message] of bad) t.throws(() => loadConfig(env, EXAMPLE_ROOT), { name: 'ConfigError', message })
})

t.test('passkeys follow PUBLIC_URL: its host is the relying party, its origin the one allowed; off for an IP address', async (t) => {
  t.same(passkeyOptions('http://localhost:3000'), { rpId: 'localhost', rpName: 'fastify-token-auth example', origins: 'http://localhost:3000' })
  t.same(passkeyOptions('https://app.example.com/accounts'), { rpId: 'app.example.com', rpName: 'fastify-token-auth example', origins: 'https://app.example.com' })
  t.equal(passkeyOptions('http://127.0.0.1:3000'), undefined)
  t.equal(passkeyOptions('http://[::1]:3000'), undefined)

  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = await build(await exampleConfig(t, { PUBLIC_URL: 'http://127.0.0.1:3000' }), { logger: { level: 'warn', stream } })
  t.teardown(async () => { await app.close() })
  t.ok(lines.some((line) => line.includes('passkeys are off: PUBLIC_URL names an IP address (127.0.0.1)')))
  t.equal((await app.inject({ method: 'POST', url: '/auth/login/passkey/options', payload: {} })).statusCode, 404)
  const session = await passwordSession(app, 'demo')
  t.equal((await app.inject({ method: 'POST', url: '/auth/mfa/passkeys/options', headers: bearer(session), payload: { current_password: DEMO_PASSWORD } })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: bearer(session), payload: { current_password: DEMO_PASSWORD } })).statusCode, 200, 'the authenticator app works all the same')
})

t.test('the security scripts are served with the page\'s CSP, which lets the QR code in as a data: image only', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const page = await app.inject({ url: '/' })
  t.match(page.headers['content-security-policy'], /img-src 'self' data:;/)
  t.match(page.headers['content-security-policy'], /script-src 'self';/)
  for (const id of ['mfa-view', 'security-panel', 'passkey-login-button', 'audit-button']) t.match(page.payload, `id="${id}"`)
  for (const file of ['security.js', 'sign-in.js', 'webauthn.js']) {
    const script = await app.inject({ url: `/${file}` })
    t.equal(script.statusCode, 200, file)
    t.match(script.headers['content-type'], /^text\/javascript/, file)
    t.notMatch(script.payload, /\b(?:localStorage|sessionStorage)\s*[.[]|\.(?:innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write/, `${file}: nothing kept in storage, no text parsed as HTML`)
  }
})

t.test('no secret, code or challenge of a second factor reaches the log', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = await build(await exampleConfig(t), { logger: { level: 'trace', stream } })
  t.teardown(async () => { await app.close() })
  const { phone, secret, recoveryCodes } = await enrollTotp(app, await passwordSession(app, 'demo'))
  const first = await login(app, 'demo')
  const code = phone.nextCode()
  await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.json().mfa_token, code } })
  const log = lines.join('')
  for (const value of [secret, first.json().mfa_token, `"${code}"`, ...recoveryCodes]) t.notOk(log.includes(value), 'not in the log')
  t.ok(log.includes('login.mfa_required'), 'the events are logged')
})
