import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { createMemoryStore, mfaRoutes, type AuthEvent, type AuthStore, type LoginRoutesOptions, type TokenAuthOptions, type UserRecord } from 'fastify-token-auth'
import { totpCode, totpStep } from '../../lib/mfa/totp.js'
import { SCOPES } from './api-keys.js'
import { buildApp, PASSWORD } from './app.js'
import { TestClock } from './clock.js'
import { FastTestHasher } from './fast-test-hasher.js'
import { bearer } from './forge.js'
import { SoftAuthenticator } from './soft-authenticator.js'
import { cookiesOf } from './session.js'

export const ORIGIN = 'http://localhost:3000'
export const ADDRESS = '198.51.100.40'
export const MFA_KEY = 'an MFA encryption key of 32 bytes or more, not the token secret'

export interface MfaApp {
  app: FastifyInstance
  store: AuthStore
  clock: TestClock
  events: AuthEvent[]
  /** Role admin. */
  alice: UserRecord
  /** No roles. */
  bob: UserRecord
}

export interface MfaAppOptions {
  /** The `mfa` option; passkeys on for ORIGIN by default. */
  mfa?: TokenAuthOptions['mfa']
  auth?: Partial<TokenAuthOptions> | undefined
  fastify?: FastifyServerOptions | undefined
  routes?: LoginRoutesOptions | undefined
  /** Register mfaRoutes under /auth/mfa (default true). */
  mfaRoutes?: boolean | undefined
}

/**
 * An app with second factors on (passkeys for http://localhost:3000), API keys on, the login
 * routes under /auth and mfaRoutes under /auth/mfa, alice (admin) and bob, the test clock, and
 * routes behind the guards: /mfa-only (requireMfa), /admin-mfa (requireRole('admin', { mfa: true })),
 * /admin-any (requireRole('admin', { mfa: false })), /keyed-mfa (requireMfa, API keys allowed).
 */
export async function mfaApp (t: Test, options: MfaAppOptions = {}): Promise<MfaApp> {
  const store = createMemoryStore()
  const clock = new TestClock(1_900_000_000_000)
  const events: AuthEvent[] = []
  const app = await buildApp(t, {
    auth: {
      store,
      clock,
      apiKeys: { scopes: SCOPES },
      mfa: options.mfa ?? { encryptionKey: MFA_KEY, passkeys: { rpId: 'localhost', origins: ORIGIN } },
      passwords: { hasher: new FastTestHasher() },
      // The clock moves by hand (a TOTP step is 30 s): revocations stay fresh meanwhile, synced every 50 ms of real time.
      revocation: { syncInterval: '50ms', maxStaleness: '1h' },
      onAuthEvent: (event) => { events.push(event) },
      ...options.auth
    },
    routes: options.routes ?? {},
    fastify: options.fastify,
    setup: (app) => {
      app.get('/mfa-only', { onRequest: app.requireMfa }, async (request) => ({ amr: request.user.amr }))
      app.get('/admin-mfa', { onRequest: app.requireRole('admin', { mfa: true }) }, async () => ({ admin: true }))
      app.get('/admin-any', { onRequest: app.requireRole('admin', { mfa: false }) }, async () => ({ admin: true }))
      app.get('/keyed-mfa', { config: { allowApiKeys: true }, onRequest: app.requireMfa }, async () => ({ ok: true }))
      if (options.mfaRoutes !== false) app.register(mfaRoutes, { prefix: '/auth/mfa' })
    }
  })
  const accounts = app.tokenAuth.accounts
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['admin'] })
  const bob = await accounts.createUser({ username: 'bob', password: PASSWORD })
  return { app, store, clock, events, alice, bob }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export function base32Bytes (text: string): Buffer {
  const bytes: number[] = []
  let buffer = 0
  let bits = 0
  for (const char of text) {
    buffer = (buffer << 5) | BASE32.indexOf(char)
    bits += 5
    if (bits >= 8) {
      bits -= 8
      bytes.push((buffer >>> bits) & 255)
    }
  }
  return Buffer.from(bytes)
}

/** The code an authenticator app shows now for a base32 secret (`steps` off: the phone's clock drift). */
export function totpNow (secret: string, clock: TestClock, steps = 0): string {
  return totpCode(base32Bytes(secret), totpStep(clock.now() / 1000) + steps)
}

/** Moves the clock to the next TOTP step, so that a new code can be used. */
export function nextStep (clock: TestClock): void {
  clock.advance(30_000)
}

export type Response = LightMyRequestResponse

/** POST /auth/login as an API client (no browser headers) from ADDRESS. */
export async function passwordLogin (app: FastifyInstance, username = 'alice', extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Response> {
  return await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: PASSWORD, ...extra }, remoteAddress: ADDRESS, headers })
}

/** The access token of a password-only session (the user must have no second factor). */
export async function passwordSession (app: FastifyInstance, username = 'alice'): Promise<string> {
  const res = await passwordLogin(app, username)
  if (res.statusCode !== 200 || res.json().access_token === undefined) throw new Error(`login failed: ${res.statusCode} ${res.payload}`)
  return res.json().access_token
}

/** An authenticated request to mfaRoutes from ADDRESS. */
export async function mfaRequest (app: FastifyInstance, token: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, payload?: unknown): Promise<Response> {
  return await app.inject({ method, url: `/auth/mfa${path}`, headers: bearer(token), remoteAddress: ADDRESS, ...(payload === undefined ? {} : { payload: payload as object }) })
}

/** Turns TOTP on for the user of a session: the secret and the recovery codes the confirmation gave. */
export async function enrollTotp (app: FastifyInstance, clock: TestClock, token: string): Promise<{ secret: string, recoveryCodes: string[] | undefined }> {
  const begun = await mfaRequest(app, token, 'POST', '/totp', { current_password: PASSWORD })
  if (begun.statusCode !== 200) throw new Error(`TOTP enrollment failed: ${begun.statusCode} ${begun.payload}`)
  const { secret } = begun.json()
  const confirmed = await mfaRequest(app, token, 'POST', '/totp/confirm', { code: totpNow(secret, clock) })
  if (confirmed.statusCode !== 200) throw new Error(`TOTP confirmation failed: ${confirmed.statusCode} ${confirmed.payload}`)
  nextStep(clock)
  return { secret, recoveryCodes: confirmed.json().recovery_codes }
}

/** Both steps of a login with a TOTP code: the second step's answer. */
export async function totpLogin (app: FastifyInstance, clock: TestClock, secret: string, username = 'alice', extra: Record<string, unknown> = {}): Promise<Response> {
  const first = await passwordLogin(app, username)
  if (first.json().mfa_required !== true) throw new Error(`no second step: ${first.statusCode} ${first.payload}`)
  const res = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.json().mfa_token, code: totpNow(secret, clock), ...extra }, remoteAddress: ADDRESS })
  nextStep(clock)
  return res
}

/** The access token of a session signed in with a password and a TOTP code. */
export async function mfaSession (app: FastifyInstance, clock: TestClock, secret: string, username = 'alice'): Promise<string> {
  const res = await totpLogin(app, clock, secret, username)
  if (res.statusCode !== 200) throw new Error(`second step failed: ${res.statusCode} ${res.payload}`)
  return res.json().access_token
}

/** Registers a new software passkey for the user of a session: the authenticator and the answer. */
export async function addPasskey (app: FastifyInstance, token: string, name = 'laptop', authenticator = new SoftAuthenticator({ origin: ORIGIN })): Promise<{ authenticator: SoftAuthenticator, res: Response }> {
  const options = await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })
  if (options.statusCode !== 200) throw new Error(`passkey options failed: ${options.statusCode} ${options.payload}`)
  const res = await mfaRequest(app, token, 'POST', '/passkeys', { name, response: authenticator.register(options.json()) })
  return { authenticator, res }
}

/** Cookie header and CSRF token of a browser session from a login answer (cookies set by it). */
export function browserCookies (app: FastifyInstance, res: Response): { cookie: string, csrf: string } {
  const cookies = cookiesOf(res)
  const names = app.tokenAuth.cookieNames
  return { cookie: `${names.accessToken}=${cookies[names.accessToken]}; ${names.csrf}=${cookies[names.csrf]}`, csrf: cookies[names.csrf] }
}

/** Asserts a refusal: its status, its WWW-Authenticate (a pattern, or undefined for none) and its code. */
export function assertRefused (t: Test, res: Response, status: number, challenge: RegExp | undefined, code: string, message?: string): void {
  t.equal(res.statusCode, status, message ?? code)
  if (challenge === undefined) t.equal(res.headers['www-authenticate'], undefined, `${message ?? code}: no challenge`)
  else t.match(res.headers['www-authenticate'], challenge, `${message ?? code}: challenge`)
  t.equal(res.json().code, code, `${message ?? code}: code`)
}

export const INVALID_TOKEN = /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/
export const INSUFFICIENT_SCOPE = /^Bearer realm="api", error="insufficient_scope"/
export const BARE_CHALLENGE = /^Bearer realm="api"$/
export const VALIDATION = 'FST_ERR_VALIDATION'
