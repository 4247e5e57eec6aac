import { isIP } from 'node:net'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Knex } from 'knex'
import tokenAuth, { adminRoutes, apiKeyRoutes, EmailTakenError, loginRoutes, mfaRoutes, redactPaths, revocationFeed, UsernameTakenError, type AuthEvent, type AuthEventType, type PasskeyOptions } from 'fastify-token-auth'
import { createKnexStore, type KnexStore } from 'fastify-token-auth/knex'
import { api, API_KEY_SCOPES } from './api.js'
import { AuditTrail } from './audit-trail.js'
import type { AppConfig } from './config.js'
import { openDatabase } from './database.js'
import { health } from './health.js'
import { pages } from './pages.js'
import { REPORTS_AUDIENCE } from './reports-service.js'
import { signingKeyFrom } from './signing-key.js'
import { loadMfaKey, loadTokenSecret, type SecretSource } from './token-secret.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's database pool (the auth tables live there too), closed with the app. */
    knex: Knex
  }
}

/** The `iss` of the example's access tokens. */
export const ISSUER = 'fastify-token-auth-example'

/** The name the example's mail, authenticator apps and passkey prompts show. */
const PRODUCT_NAME = 'fastify-token-auth example'

// One name for the header the plugin checks and the page sends.
const CSRF_HEADER = 'x-csrf-token'

/**
 * What the app's API keys start with: `fta_live_` in production, `fta_test_` anywhere else, so
 * that a key from a development machine is told apart at a glance (and by a secret scanner).
 */
export function apiKeyPrefix (config: AppConfig): string {
  return config.production ? 'fta_live_' : 'fta_test_'
}

export const DEMO_USERS = [
  { username: 'demo', roles: ['admin'], email: 'demo@example.com' },
  { username: 'viewer', roles: [], email: 'viewer@example.com' }
]

export function loggerOptions (config: AppConfig): NonNullable<FastifyServerOptions['logger']> {
  const options = { level: config.logLevel, redact: [...redactPaths] }
  return config.prettyLogs ? { ...options, transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : options
}

// What an operator watches for: guessing, lockouts, a stolen refresh token, and refused API keys (a leaked or guessed one).
const WARNING_EVENTS: ReadonlySet<AuthEventType> = new Set(['login.failed', 'login.locked_out', 'session.reuse_detected', 'api_key.rejected'])

// The latest events the admins' audit view lists.
const AUDIT_TRAIL_LENGTH = 100

/** One structured line per auth event (no request needed: the event names the user, session and address). */
export function logAuthEvent (log: FastifyBaseLogger, event: AuthEvent): void {
  if (WARNING_EVENTS.has(event.type)) log.warn({ event }, 'auth event')
  else log.info({ event }, 'auth event')
}

/**
 * The demo users, created once. Their addresses are taken as proven (the app requires a
 * verified address to sign in, and example.com receives no mail), as an import of users
 * whose addresses are already known would. A demo user from a data folder older than that
 * requirement is brought up to date through the store.
 */
async function ensureDemoUsers (app: FastifyInstance, store: KnexStore, password: string): Promise<void> {
  for (const demo of DEMO_USERS) {
    let user
    try {
      user = await app.tokenAuth.accounts.createUser({ ...demo, password, emailVerified: true })
    } catch (error) {
      // Created at an earlier start (which of the two unique fields the database reports first varies).
      if (!(error instanceof UsernameTakenError) && !(error instanceof EmailTakenError)) throw error
      user = await app.tokenAuth.accounts.findUserByUsername(demo.username)
    }
    if (user?.email === demo.email && user.emailVerifiedAt === null) {
      await store.users.update(user.id, { set: { emailVerifiedAt: user.createdAt }, expect: { email: demo.email } })
    }
  }
}

/**
 * Passkeys for the site PUBLIC_URL names: its host is the relying party, its origin the one
 * pages ask from. Off for an IP address, which browsers refuse as a relying party.
 */
export function passkeyOptions (publicUrl: string): PasskeyOptions | undefined {
  const { hostname, origin } = new URL(publicUrl)
  if (isIP(hostname.replace(/^\[|\]$/g, '')) !== 0) return undefined
  return { rpId: hostname, rpName: PRODUCT_NAME, origins: origin }
}

/** One warning per secret that is not set in the environment, or kept in a file others may read. */
function reportSecretSource (log: FastifyBaseLogger, variable: string, source: SecretSource, dataDir: string): void {
  if (source.warning !== undefined) log.warn(source.warning)
  if (source.origin !== 'environment') log.warn(`${variable} is not set: using a secret ${source.origin === 'generated' ? 'generated now and saved' : 'kept'} in ${dataDir}; set ${variable} to share one between instances`)
}

export interface BuildOptions {
  /** Replaces the configured logger (tests pass false or a stream). */
  logger?: NonNullable<FastifyServerOptions['logger']> | undefined
  /** The service credential of the revocation feed; without one (and no REVOCATION_FEED_CREDENTIAL) there is no feed. */
  feedCredential?: string | undefined
}

/**
 * The example app, ready but not listening: the database migrated, the demo users
 * created, the auth, account, API-key and second-factor routes under /auth, the API under
 * /api (the admin routes under /api/admin) and the pages at /.
 */
export async function build (config: AppConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? loggerOptions(config), trustProxy: config.trustProxy })
  const db = await openDatabase(config.databaseUrl, config.databasePoolMax)
  app.decorate('knex', db)
  app.addHook('onClose', async () => { await db.destroy() })
  try {
    const store = createKnexStore({ knex: db, tablePrefix: config.tablePrefix })
    await store.migrate()
    const tokenSecret = await loadTokenSecret(config.tokenSecret, config.dataDir, { strict: config.production })
    reportSecretSource(app.log, 'TOKEN_SECRET', tokenSecret, config.dataDir)
    const { secret } = tokenSecret
    const mfaKey = await loadMfaKey(config.mfaKey, config.dataDir, { strict: config.production })
    reportSecretSource(app.log, 'MFA_KEY', mfaKey, config.dataDir)
    const passkeys = passkeyOptions(config.publicUrl)
    if (passkeys === undefined) app.log.warn(`passkeys are off: PUBLIC_URL names an IP address (${new URL(config.publicUrl).hostname}), and browsers accept passkeys for domain names only`)
    const auditTrail = new AuditTrail(AUDIT_TRAIL_LENGTH)

    await app.register(tokenAuth, {
      // Ed25519, so that other services verify with the public key alone (published below).
      keys: [{ privateKey: signingKeyFrom(secret) }],
      // CSRF tokens bound to the secret itself, which the plugin checks like any secret (length, guessability).
      csrf: { headerName: CSRF_HEADER, secret },
      store,
      issuer: ISSUER,
      // The app itself and the reports service: the tokens name both.
      audience: [ISSUER, REPORTS_AUDIENCE],
      accessTokenTtl: config.accessTokenTtl,
      passwords: { bcryptCost: config.bcryptCost },
      // Other instances' logouts arrive as soon as PostgreSQL announces them; polling stays the safety net.
      revocation: { push: config.revocationPush, syncInterval: config.revocationSyncInterval, maxStaleness: config.revocationMaxStaleness },
      cookie: { secure: config.secureCookies },
      // Logins, lockouts, refreshes, logouts and account changes, one log line each.
      onAuthEvent: (event) => {
        logAuthEvent(app.log, event)
        auditTrail.add(event)
      },
      // Reset and verification links open the app's own pages, which post the token back.
      mail: {
        transport: config.mailUrl,
        from: config.mailFrom,
        links: { passwordReset: `${config.publicUrl}/reset-password`, emailVerification: `${config.publicUrl}/verify-email` },
        productName: PRODUCT_NAME
      },
      // A user signs in once their address is proven: the mail they get is then their own.
      requireVerifiedEmail: true,
      // Personal API keys for scripts and other programs, limited to the scopes of the API (api.ts).
      apiKeys: { prefix: apiKeyPrefix(config), scopes: API_KEY_SCOPES },
      // Second factors: an authenticator app (TOTP) with recovery codes, and passkeys for the
      // site PUBLIC_URL names. Optional for every user; the audit view asks for one.
      mfa: { encryptionKey: mfaKey.secret, issuer: PRODUCT_NAME, passkeys }
    })
    // /auth/password/…, /auth/email/… and /auth/sessions come with the login routes.
    await app.register(loginRoutes, { prefix: '/auth' })
    // /auth/api-keys: the signed-in user's keys (created, listed, renamed and revoked with a session, never with a key).
    await app.register(apiKeyRoutes, { prefix: '/auth' })
    // /auth/mfa: the signed-in user's authenticator app, recovery codes and passkeys.
    await app.register(mfaRoutes, { prefix: '/auth/mfa' })
    await app.register(adminRoutes, { prefix: '/api/admin', role: 'admin' })
    const feedCredential = options.feedCredential ?? config.revocationFeedCredential
    if (feedCredential !== undefined) await app.register(revocationFeed, { prefix: '/auth', credentials: [feedCredential] })
    // Public keys for the services that verify this app's tokens.
    app.get('/.well-known/jwks.json', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(app.tokenAuth.jwks()))
    await app.register(api, { prefix: '/api', auditTrail })
    await app.register(pages, { csrfCookie: app.tokenAuth.cookieNames.csrf, csrfHeader: CSRF_HEADER })
    await app.register(health)
    // Headers every response should carry, page or API.
    app.addHook('onSend', async (_request, reply) => {
      reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY')
    })
    if (config.demoPassword !== undefined) await ensureDemoUsers(app, store, config.demoPassword)
    await app.ready()
    return app
  } catch (error) {
    await app.close()
    throw error
  }
}
