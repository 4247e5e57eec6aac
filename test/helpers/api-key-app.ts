import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { apiKeyRoutes, createMemoryStore, type AuthEvent, type AuthStore, type TokenAuthOptions, type UserRecord } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './app.js'
import { SCOPES } from './api-keys.js'
import { TestClock } from './clock.js'
import { FastTestHasher } from './fast-test-hasher.js'

export interface ApiKeyApp {
  app: FastifyInstance
  store: AuthStore
  clock: TestClock
  events: AuthEvent[]
  /** Roles developer and reader. */
  alice: UserRecord
  /** No roles. */
  bob: UserRecord
}

export interface ApiKeyAppOptions {
  /** The `apiKeys` option; the SCOPES catalogue by default; null: API keys off. */
  apiKeys?: TokenAuthOptions['apiKeys'] | null
  auth?: Partial<TokenAuthOptions> | undefined
  /** Shared with another app (another instance); a fresh memory store otherwise. */
  store?: AuthStore | undefined
  clock?: TestClock | undefined
  /** Register apiKeyRoutes under /auth too. */
  keyRoutes?: boolean | undefined
  /** Adds routes or plugins before the app is ready. */
  setup?: ((app: FastifyInstance) => void) | undefined
  /** Fastify's own options (a logger to read, say). */
  fastify?: FastifyServerOptions | undefined
}

/**
 * An app with API keys on, the login routes under /auth, alice and bob, and routes for keys:
 * GET /keyed (and POST) accept them; /keyed/reports needs scope reports:read; /keyed/develop
 * the role developer; /no-keys refuses them; /me (from buildApp) says nothing, so refuses
 * them unless apiKeys.allowByDefault.
 */
export async function apiKeyApp (t: Test, options: ApiKeyAppOptions = {}): Promise<ApiKeyApp> {
  const store = options.store ?? createMemoryStore()
  const clock = options.clock ?? new TestClock(1_900_000_000_000)
  const events: AuthEvent[] = []
  const apiKeys = options.apiKeys === null ? {} : { apiKeys: options.apiKeys ?? { scopes: SCOPES } }
  const app = await buildApp(t, {
    auth: {
      store,
      clock,
      ...apiKeys,
      passwords: { hasher: new FastTestHasher() },
      // The clock moves by hand: revocations stay fresh meanwhile, synced every 50 ms of real time.
      revocation: { syncInterval: '50ms', maxStaleness: '1h' },
      onAuthEvent: (event) => { events.push(event) },
      ...options.auth
    },
    routes: {},
    fastify: options.fastify,
    setup: (app) => {
      const keyed = { config: { allowApiKeys: true } }
      app.get('/keyed', { ...keyed, onRequest: app.authenticate }, async (request) => request.user)
      app.post('/keyed', { ...keyed, onRequest: app.authenticate }, async (request) => request.user)
      app.get('/keyed/reports', { ...keyed, onRequest: app.requireScope('reports:read') }, async () => ({ reports: true }))
      app.get('/keyed/develop', { ...keyed, onRequest: app.requireRole('developer') }, async () => ({ develop: true }))
      app.get('/no-keys', { config: { allowApiKeys: false }, onRequest: app.authenticate }, async (request) => request.user)
      if (options.keyRoutes === true) app.register(apiKeyRoutes, { prefix: '/auth' })
      options.setup?.(app)
    }
  })
  const accounts = app.tokenAuth.accounts
  const alice = await accounts.findUserByUsername('alice') ?? await accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['developer', 'reader'] })
  const bob = await accounts.findUserByUsername('bob') ?? await accounts.createUser({ username: 'bob', password: PASSWORD })
  return { app, store, clock, events, alice, bob }
}

/** Asserts a refusal: its status, its WWW-Authenticate (a pattern, or undefined for none) and its code. */
export function assertRefused (t: Test, res: LightMyRequestResponse, status: number, challenge: RegExp | undefined, code: string, message?: string): void {
  t.equal(res.statusCode, status, message ?? code)
  if (challenge === undefined) t.equal(res.headers['www-authenticate'], undefined, 'no challenge')
  else t.match(res.headers['www-authenticate'], challenge)
  t.equal(res.json().code, code)
}

export const INVALID_TOKEN = /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/
export const INSUFFICIENT_SCOPE = /^Bearer realm="api", error="insufficient_scope"/
export const BARE_CHALLENGE = /^Bearer realm="api"$/
