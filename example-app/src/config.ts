import { isIP } from 'node:net'
import { join, resolve } from 'node:path'

/** Everything the example app reads from the environment, checked once at startup. */
export interface AppConfig {
  /** NODE_ENV=production: JSON logs, no default demo users, a loose secret file refused. */
  production: boolean
  host: string
  port: number
  /** Where the SQLite database and a generated signing secret are kept. */
  dataDir: string
  /** sqlite:<file>, postgres://… or mysql://…; default: a SQLite file in dataDir. */
  databaseUrl: string
  /** Prefix of the auth tables, for a database shared with other applications. */
  tablePrefix: string
  /** From TOKEN_SECRET; undefined means: read or generate one in dataDir. */
  tokenSecret: string | undefined
  /** From MFA_KEY: encrypts TOTP secrets and keys recovery codes; undefined means: read or generate one in dataDir. */
  mfaKey: string | undefined
  accessTokenTtl: string
  logLevel: string
  /** Pretty, human logs; JSON lines in production. */
  prettyLogs: boolean
  /** Secure cookies (the default) work on https:// and on http://localhost. */
  secureCookies: boolean
  /** The demo users' password, or undefined for no demo users. */
  demoPassword: string | undefined
  /** How long a graceful shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number
  /** Where the reports service (the second service, verifying by JWKS) listens; undefined: not started. */
  reportsPort: number | undefined
  /** The revocation feed's service credential; undefined: one generated per start and shared in-process. */
  revocationFeedCredential: string | undefined
  /** How account mail leaves: an smtp:// or smtps:// URL, or 'console' (printed to stderr, development only). */
  mailUrl: string
  /** The sender of account mail. */
  mailFrom: string
  /** Where users reach the app: the links in account mail start with it (no trailing slash); passkeys are bound to its host. */
  publicUrl: string
  /** Fastify's trustProxy: false, true, or the proxies' addresses; decides request.ip, which the per-address limits count. */
  trustProxy: boolean | string[]
  /** Read revocations as soon as the database announces them (core option revocation.push). */
  revocationPush: boolean
  /** How often each instance reads revocations (core option revocation.syncInterval); undefined: the core's default. */
  revocationSyncInterval: string | undefined
  /** Longest a revocation may go unseen before verification answers 503 (revocation.maxStaleness); undefined: the core's default. */
  revocationMaxStaleness: string | undefined
  /** bcrypt cost for new password hashes (core option passwords.bcryptCost); undefined: the core's default. */
  bcryptCost: number | undefined
  /** Most database connections this instance opens (PostgreSQL and MySQL); instances sharing a server divide its limit. */
  databasePoolMax: number
}

/** A configuration problem, reported as one clear line at startup. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const DEFAULT_DEMO_PASSWORD = 'correct horse battery staple'

function shutdownTimeout (value: string | undefined): number {
  const seconds = Number(value ?? '10')
  if (!Number.isFinite(seconds) || seconds <= 0) throw new ConfigError(`SHUTDOWN_TIMEOUT must be a number of seconds above 0; got ${JSON.stringify(value)}`)
  return seconds * 1000
}

function port (name: string, value: string | undefined, fallback: string): number {
  const parsed = Number(value ?? fallback)
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new ConfigError(`${name} must be a port number (0-65535); got ${JSON.stringify(value)}`)
  return parsed
}

function feedCredential (value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  if (value.length < 32 || /[^\x21-\x7e]/.test(value)) throw new ConfigError('REVOCATION_FEED_CREDENTIAL must be at least 32 random printable characters without spaces')
  return value
}

function mfaKey (value: string | undefined, production: boolean, tokenSecret: string | undefined): string | undefined {
  if (value === undefined || value === '') {
    if (production) throw new ConfigError('MFA_KEY is required when NODE_ENV=production (32+ random characters, not the TOKEN_SECRET): it encrypts the TOTP secrets in the database')
    return undefined
  }
  if (value.length < 32) throw new ConfigError('MFA_KEY must be at least 32 random characters')
  // One leaked secret must not open both the tokens and the second factors.
  if (value === tokenSecret) throw new ConfigError('MFA_KEY must differ from TOKEN_SECRET')
  return value
}

function flag (name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new ConfigError(`${name} must be true or false; got ${JSON.stringify(value)}`)
}

function trustProxy (value: string | undefined): boolean | string[] {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false
  if (value === 'true' || value === '1') return true
  // Named proxies only: trusting every hop would let any client choose its own address.
  const proxies = value.split(',').map((item) => item.trim())
  for (const proxy of proxies) {
    const [address = '', bits, extra] = proxy.split('/')
    const family = isIP(address)
    const maxBits = family === 6 ? 128 : 32
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits))) {
      throw new ConfigError(`TRUST_PROXY must be true, false or a comma-separated list of proxy addresses or CIDR ranges; got ${JSON.stringify(value)}`)
    }
  }
  return proxies
}

// The core's duration strings; the core then checks each value's range.
function duration (name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(value)) throw new ConfigError(`${name} must be a duration such as 250ms, 1s or 2m; got ${JSON.stringify(value)}`)
  return value
}

function integerInRange (name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined
  const parsed = Number(value)
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`)
  return parsed
}

function databaseUrl (value: string | undefined, dataDir: string): string {
  if (value === undefined || value === '') return `sqlite:${join(dataDir, 'auth.sqlite')}`
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/|mysql:\/\/)/.test(value)) {
    throw new ConfigError('DATABASE_URL must start with sqlite:, postgres:// or mysql://')
  }
  return value
}

function mailUrl (value: string | undefined, production: boolean): string {
  // The console transport prints each mail, its single-use link included, where the logs go.
  if (value === undefined || value === '') {
    if (production) throw new ConfigError('MAIL_URL is required when NODE_ENV=production (smtp://user:password@host:587 or smtps://…:465)')
    return 'console'
  }
  if (value === 'console') {
    if (production) throw new ConfigError('MAIL_URL=console prints password-reset links to the logs: set an smtp:// or smtps:// URL in production')
    return value
  }
  if (!/^smtps?:\/\/[^/?#]/.test(value) || !URL.canParse(value)) throw new ConfigError('MAIL_URL must be smtp://host[:port], smtps://host[:port] or console')
  return value
}

function publicUrl (value: string | undefined, production: boolean, listenPort: number): string {
  if (value === undefined || value === '') {
    // Links to localhost reach no one but the operator's own browser.
    if (production) throw new ConfigError('PUBLIC_URL is required when NODE_ENV=production: the links in account mail start with it')
    return `http://localhost:${listenPort}`
  }
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    // Not echoed: a URL with credentials in it would put them in the log.
    throw new ConfigError('PUBLIC_URL must be an http:// or https:// address without query, fragment or credentials')
  }
  return url.href.replace(/\/+$/, '')
}

/** Reads the configuration; throws ConfigError with the variable's name on a bad value. */
export function loadConfig (env: NodeJS.ProcessEnv, appRoot: string): AppConfig {
  const production = env.NODE_ENV === 'production'
  const dataDir = resolve(appRoot, env.DATA_DIR ?? 'data')
  const logLevel = env.LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(logLevel)}`)
  const tokenSecret = env.TOKEN_SECRET === '' ? undefined : env.TOKEN_SECRET
  if (production && tokenSecret === undefined) throw new ConfigError('TOKEN_SECRET is required when NODE_ENV=production (a generated one would differ per instance)')
  const listenPort = port('PORT', env.PORT, '3000')
  return {
    production,
    host: env.HOST ?? 'localhost',
    port: listenPort,
    dataDir,
    databaseUrl: databaseUrl(env.DATABASE_URL, dataDir),
    tablePrefix: env.TABLE_PREFIX ?? 'auth_',
    tokenSecret,
    mfaKey: mfaKey(env.MFA_KEY, production, tokenSecret),
    accessTokenTtl: env.ACCESS_TOKEN_TTL ?? '15m',
    logLevel,
    prettyLogs: !production,
    secureCookies: flag('COOKIE_SECURE', env.COOKIE_SECURE, true),
    // An empty DEMO_PASSWORD turns the demo users off; production has none unless asked.
    demoPassword: env.DEMO_PASSWORD === '' ? undefined : env.DEMO_PASSWORD ?? (production ? undefined : DEFAULT_DEMO_PASSWORD),
    shutdownTimeoutMs: shutdownTimeout(env.SHUTDOWN_TIMEOUT),
    // REPORTS_PORT=off runs the auth service alone.
    reportsPort: env.REPORTS_PORT === 'off' ? undefined : port('REPORTS_PORT', env.REPORTS_PORT, '3001'),
    revocationFeedCredential: feedCredential(env.REVOCATION_FEED_CREDENTIAL),
    mailUrl: mailUrl(env.MAIL_URL, production),
    mailFrom: env.MAIL_FROM === undefined || env.MAIL_FROM === '' ? 'Example <no-reply@localhost>' : env.MAIL_FROM,
    publicUrl: publicUrl(env.PUBLIC_URL, production, listenPort),
    trustProxy: trustProxy(env.TRUST_PROXY),
    revocationPush: flag('REVOCATION_PUSH', env.REVOCATION_PUSH, true),
    revocationSyncInterval: duration('REVOCATION_SYNC_INTERVAL', env.REVOCATION_SYNC_INTERVAL),
    revocationMaxStaleness: duration('REVOCATION_MAX_STALENESS', env.REVOCATION_MAX_STALENESS),
    // The core refuses a cost below 10 outside tests, with its own message.
    bcryptCost: integerInRange('BCRYPT_COST', env.BCRYPT_COST, 4, 31),
    databasePoolMax: integerInRange('DATABASE_POOL_MAX', env.DATABASE_POOL_MAX, 1, 1000) ?? 10
  }
}
