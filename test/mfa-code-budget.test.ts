import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { PASSWORD } from './helpers/app.js'
import type { TestClock } from './helpers/clock.js'
import { ADDRESS, assertRefused, BARE_CHALLENGE, enrollTotp, MFA_KEY, mfaApp, nextStep, passwordSession, totpNow, type MfaAppOptions, type Response } from './helpers/mfa-app.js'

// Wrong TOTP codes from browsers the user never signed in from spend a daily budget per
// user (mfa.maxCodeFailuresPerDay), beside the login throttle whose lockouts always end.

const THROTTLED = 'FST_TOKEN_AUTH_LOGIN_THROTTLED'
const INVALID_CODE = 'FST_TOKEN_AUTH_INVALID_MFA_CODE'
const DAY_MS = 86_400_000
const BROWSER = { 'sec-fetch-site': 'same-origin', origin: 'http://localhost:80', host: 'localhost' }

interface Enrolled {
  app: FastifyInstance
  clock: TestClock
  secret: string
  recoveryCodes: string[]
}

// The login throttle is set loose here, so that only the daily budget can refuse.
async function enrolled (t: Test, options: MfaAppOptions = {}): Promise<Enrolled> {
  const fixture = await mfaApp(t, { auth: { throttle: { maxAccountFailures: 1000, maxAddressFailures: 1000 } }, ...options })
  const { secret, recoveryCodes } = await enrollTotp(fixture.app, fixture.clock, await passwordSession(fixture.app))
  return { ...fixture, secret, recoveryCodes: recoveryCodes as string[] }
}

async function login (app: FastifyInstance, address: string, headers: Record<string, string> = {}): Promise<Response> {
  return await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD }, headers, remoteAddress: address })
}

async function secondStep (app: FastifyInstance, proof: Record<string, string>, address: string, headers: Record<string, string> = {}): Promise<Response> {
  const first = await login(app, address, headers)
  return await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.json().mfa_token, ...proof }, headers, remoteAddress: address })
}

// A code of no step the window accepts now (steps -1, 0 and +1).
function wrongCode (secret: string, clock: TestClock): string {
  const valid = [-1, 0, 1].map((steps) => totpNow(secret, clock, steps))
  let candidate = Number(valid[1])
  do candidate = (candidate + 1) % 1_000_000
  while (valid.includes(String(candidate).padStart(6, '0')))
  return String(candidate).padStart(6, '0')
}

t.test('past ten wrong codes in a day, even the right code waits a day, from any address, while recovery codes still work', async (t) => {
  const { app, clock, secret, recoveryCodes } = await enrolled(t)
  for (let i = 0; i < 10; i++) {
    assertRefused(t, await secondStep(app, { code: wrongCode(secret, clock) }, `192.0.2.${i + 1}`), 401, BARE_CHALLENGE, INVALID_CODE, `wrong code ${i + 1}`)
  }
  const refused = await secondStep(app, { code: totpNow(secret, clock) }, '198.51.100.77')
  assertRefused(t, refused, 429, undefined, THROTTLED, 'the right code from a new address')
  t.ok(Number(refused.headers['retry-after']) > 86_000, 'Retry-After: about a day')
  t.equal((await secondStep(app, { recovery_code: recoveryCodes[0] }, ADDRESS)).statusCode, 200, 'a recovery code is no guess of the budget')
  clock.advance(DAY_MS)
  t.equal((await secondStep(app, { code: totpNow(secret, clock) }, ADDRESS)).statusCode, 200, 'a day later the right code passes')
})

t.test('a right code takes back its own count: ten sign-ins in a day with a mistyped code each are fine', async (t) => {
  const { app, clock, secret } = await enrolled(t)
  for (let i = 0; i < 9; i++) t.equal((await secondStep(app, { code: wrongCode(secret, clock) }, ADDRESS)).statusCode, 401)
  for (let i = 0; i < 3; i++) {
    t.equal((await secondStep(app, { code: totpNow(secret, clock) }, ADDRESS)).statusCode, 200, `right code ${i + 1}`)
    nextStep(clock)
  }
})

t.test('a browser the user signed in from is not counted: it signs in with a code after an attacker spent the budget', async (t) => {
  const { app, clock, secret } = await enrolled(t)
  const first = await secondStep(app, { code: totpNow(secret, clock) }, ADDRESS, BROWSER)
  nextStep(clock)
  const device = first.cookies.find((cookie) => cookie.name === app.tokenAuth.cookieNames.device)
  t.ok(device, 'the browser got a device cookie')
  for (let i = 0; i < 11; i++) await secondStep(app, { code: wrongCode(secret, clock) }, '192.0.2.50')
  t.equal((await secondStep(app, { code: totpNow(secret, clock) }, '192.0.2.50')).statusCode, 429, 'the budget is spent')
  const cookie = `${device?.name as string}=${device?.value as string}`
  t.equal((await secondStep(app, { code: totpNow(secret, clock) }, ADDRESS, { ...BROWSER, cookie })).statusCode, 200, 'the known browser signs in')
})

t.test('200 wrong codes at once spend no more than the budget', async (t) => {
  const { app, clock, secret } = await enrolled(t)
  const tokens = await Promise.all(Array.from({ length: 200 }, async (_, i) => (await login(app, `10.0.${i >> 8}.${i & 255}`)).json().mfa_token as string))
  const answers = await Promise.all(tokens.map(async (token, i) => await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: token, code: wrongCode(secret, clock) }, remoteAddress: `10.0.${i >> 8}.${i & 255}` })))
  t.equal(answers.filter((res) => res.statusCode === 401).length, 10, 'ten codes checked')
  t.equal(answers.filter((res) => res.statusCode === 429).length, 190, 'the rest refused unchecked')
})

t.test('the budget is an option', async (t) => {
  const { app, clock, secret } = await enrolled(t, { mfa: { encryptionKey: MFA_KEY, maxCodeFailuresPerDay: 2 } })
  for (let i = 0; i < 2; i++) t.equal((await secondStep(app, { code: wrongCode(secret, clock) }, ADDRESS)).statusCode, 401)
  t.equal((await secondStep(app, { code: totpNow(secret, clock) }, ADDRESS)).statusCode, 429)
})
