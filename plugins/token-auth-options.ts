import { toSeconds, type Duration } from '../lib/duration.js'
import { InvalidOptionError } from '../lib/errors.js'
import type { UserRecord, UserStore } from '../lib/stores/user-store.js'
import { createKeyRing, type KeyDefinition, type KeyRing } from '../lib/tokens/key-ring.js'
import { deriveCsrfKeys, type CsrfKeys } from './csrf-keys.js'

export interface TokenAuthOptions {
  /** HMAC secret (HS256) of at least 32 random bytes. Or give `keys`. */
  secret?: string | Buffer
  /** Key ring: the first key signs, every key verifies (rotation). Each has one algorithm. */
  keys?: KeyDefinition[]
  /** `iss` written into tokens and required on verify. */
  issuer?: string
  /** `aud` written into tokens; a verified token must name one of these. */
  audience?: string | string[]
  /** Access-token lifetime. Default '15m'. */
  accessTokenTtl?: Duration
  /** Allowed clock difference for exp/nbf/iat. Default 5 s, at most 60 s. */
  clockTolerance?: Duration
  /** Longer tokens are refused before decoding. Default 4096 characters. */
  maxTokenLength?: number
  /** Verified tokens remembered for speed (bounded, revocation-aware). Default 10000; 0 disables. */
  verifiedTokenCacheSize?: number
  /** Realm in `WWW-Authenticate`. Default 'api'. */
  realm?: string
  /** Users, sessions and revocations; needed for loginRoutes, logout and revocation. */
  userStore?: UserStore
  /** Application claims put into a user's access tokens. Default: `roles` when the user has any. */
  claims?: (user: UserRecord) => Record<string, unknown>
  transport?: {
    /** Accept `Authorization: Bearer`. Default true. */
    header?: boolean
    /** Accept the access-token cookie. Default true. */
    cookie?: boolean
    /** When both arrive: undefined (default) answers 400 invalid_request (RFC 6750 §2). */
    prefer?: 'header' | 'cookie'
  }
  cookie?: {
    /** Default '__Host-access-token'. */
    accessTokenName?: string
    /** Readable CSRF cookie the page echoes in the CSRF header. Default '__Host-csrf-token'. */
    csrfName?: string
    /** Refresh-token cookie, scoped to the login routes' prefix. Default '__Secure-refresh-token'. */
    refreshTokenName?: string
    /** Default 'strict'. */
    sameSite?: 'strict' | 'lax'
    /** Default true; false (plain-HTTP development off localhost) needs names without __Host-/__Secure-. */
    secure?: boolean
  }
  csrf?: {
    /** Header that must echo the CSRF cookie. Default 'x-csrf-token'. */
    headerName?: string
    /**
     * Origins allowed on cookie-authenticated unsafe requests and on login (a `Sec-Fetch-Site:
     * same-site` request is allowed only from one of these). Default: the request's own origin.
     */
    allowedOrigins?: string[]
    /**
     * Key (32+ random bytes) that binds CSRF tokens to sessions. Default: derived (HKDF) from
     * the token keys' secret material. Required with cookie transport when every key is public.
     */
    secret?: string | Buffer
  }
  session?: {
    /** Refresh-token lifetime (each rotation starts a new one). Default '14d'. */
    refreshTokenTtl?: Duration
    /** Absolute session length: no rotation extends a session past it. Default '30d'. */
    maxAge?: Duration
    /** A spent refresh token presented again within this is a concurrent refresh, not theft. Default '5s', at most '10s'. */
    reuseGrace?: Duration
  }
  revocation?: {
    /** How often revocations are read from the store. Default '250ms'. */
    syncInterval?: Duration
    /** Longest a revocation can go unseen by another instance; past it verification answers 503. Default '1s'. */
    maxStaleness?: Duration
    /** How often expired rows are pruned. Default '1m'. */
    pruneInterval?: Duration
  }
}

export interface CookieNames { accessToken: string, csrf: string, refreshToken: string }

export interface ResolvedTokenAuthOptions {
  ring: KeyRing
  issuer: string | undefined
  audience: string[] | undefined
  accessTokenTtlSeconds: number
  clockToleranceSeconds: number
  maxTokenLength: number
  cacheSize: number
  realm: string
  userStore: UserStore | undefined
  claims: (user: UserRecord) => Record<string, unknown>
  transport: { header: boolean, cookie: boolean, prefer: 'header' | 'cookie' | undefined }
  cookie: { names: CookieNames, sameSite: 'strict' | 'lax', secure: boolean }
  /** keys: undefined only when the cookie transport is off and no key has secret material. */
  csrf: { headerName: string, allowedOrigins: string[] | undefined, keys: CsrfKeys | undefined }
  session: { refreshTokenTtlSeconds: number, sessionMaxAgeSeconds: number, reuseGraceSeconds: number }
  revocation: { syncIntervalMs: number, maxStalenessMs: number, pruneIntervalMs: number }
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const REALM = /^[\x20-\x7e]{1,64}$/
const HEADER_NAME = /^[a-z0-9-]{1,64}$/

const defaultClaims = (user: UserRecord): Record<string, unknown> => user.roles.length > 0 ? { roles: user.roles } : {}

function optionalString (value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(`${name} must be a non-empty string`)
  return value
}

function flag (value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${name} must be true or false`)
  return value
}

function integerInRange (value: unknown, name: string, fallback: number, min: number, max: number): number {
  const resolved = value ?? fallback
  if (!Number.isInteger(resolved) || (resolved as number) < min || (resolved as number) > max) {
    throw new InvalidOptionError(`${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`)
  }
  return resolved as number
}

function oneOf<T extends string> (value: unknown, name: string, allowed: readonly T[], fallback: T | undefined): T | undefined {
  if (value === undefined) return fallback
  if (!allowed.includes(value as T)) throw new InvalidOptionError(`${name} must be one of ${allowed.map((v) => `'${v}'`).join(', ')}; got ${JSON.stringify(value)}`)
  return value as T
}

function seconds (value: Duration | undefined, fallback: Duration, name: string, min?: number, max?: number): number {
  return toSeconds(value ?? fallback, name, min, max)
}

function keyRingFrom (options: TokenAuthOptions): KeyRing {
  if (options.secret !== undefined && options.keys !== undefined) throw new InvalidOptionError('give `secret` or `keys`, not both')
  if (options.keys !== undefined) return createKeyRing(options.keys)
  if (options.secret === undefined) throw new InvalidOptionError('a signing secret is required: set `secret` (32+ random bytes) or `keys`')
  return createKeyRing([{ secret: options.secret }], 'secret')
}

function cookieOptions (options: TokenAuthOptions['cookie'] = {}): ResolvedTokenAuthOptions['cookie'] {
  const secure = flag(options.secure, 'cookie.secure', true)
  const names = {
    accessToken: optionalString(options.accessTokenName, 'cookie.accessTokenName') ?? (secure ? '__Host-access-token' : 'access-token'),
    csrf: optionalString(options.csrfName, 'cookie.csrfName') ?? (secure ? '__Host-csrf-token' : 'csrf-token'),
    refreshToken: optionalString(options.refreshTokenName, 'cookie.refreshTokenName') ?? (secure ? '__Secure-refresh-token' : 'refresh-token')
  }
  for (const [key, name] of Object.entries(names)) {
    if (!COOKIE_NAME.test(name)) throw new InvalidOptionError(`cookie name for ${key} is not a valid cookie name: ${JSON.stringify(name)}`)
    // Browsers drop __Host-/__Secure- cookies that lack Secure; fail at boot instead of at login.
    if (!secure && /^__(Host|Secure)-/.test(name)) throw new InvalidOptionError(`cookie.secure is false, so cookie ${JSON.stringify(name)} cannot carry a __Host- or __Secure- prefix`)
  }
  if (/^__Host-/.test(names.refreshToken)) throw new InvalidOptionError('the refresh-token cookie is scoped to the login routes\' path, so it cannot use the __Host- prefix (use __Secure-)')
  if (new Set(Object.values(names)).size !== 3) throw new InvalidOptionError('the three cookie names must differ')
  return { names, secure, sameSite: oneOf(options.sameSite, 'cookie.sameSite', ['strict', 'lax'], 'strict') as 'strict' | 'lax' }
}

/** Validates every option at registration: a bad configuration fails `ready()`, never a request. */
export function resolveTokenAuthOptions (options: TokenAuthOptions): ResolvedTokenAuthOptions {
  const audience = options.audience === undefined ? undefined : ([] as unknown[]).concat(options.audience)
  if (audience !== undefined && (audience.length === 0 || !audience.every((value) => typeof value === 'string' && value.length > 0))) {
    throw new InvalidOptionError('audience must be a non-empty string or array of non-empty strings')
  }
  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || !REALM.test(realm) || realm.includes('"') || realm.includes('\\')) {
    throw new InvalidOptionError('realm must be 1 to 64 printable characters without quotes or backslashes')
  }
  if (options.claims !== undefined && typeof options.claims !== 'function') throw new InvalidOptionError('claims must be a function (user) => object')
  const transport = options.transport ?? {}
  const resolvedTransport = {
    header: flag(transport.header, 'transport.header', true),
    cookie: flag(transport.cookie, 'transport.cookie', true),
    prefer: oneOf(transport.prefer, 'transport.prefer', ['header', 'cookie'], undefined)
  }
  if (!resolvedTransport.header && !resolvedTransport.cookie) throw new InvalidOptionError('transport.header and transport.cookie cannot both be false')
  const csrf = options.csrf ?? {}
  const headerName = (optionalString(csrf.headerName, 'csrf.headerName') ?? 'x-csrf-token').toLowerCase()
  if (!HEADER_NAME.test(headerName)) throw new InvalidOptionError('csrf.headerName must be a header name')
  if (csrf.allowedOrigins !== undefined && (!Array.isArray(csrf.allowedOrigins) || !csrf.allowedOrigins.every((origin) => typeof origin === 'string' && URL.canParse(origin)))) {
    throw new InvalidOptionError('csrf.allowedOrigins must be an array of origins such as \'https://app.example\'')
  }
  const ring = keyRingFrom(options)
  const csrfKeys = deriveCsrfKeys({ csrfSecret: csrf.secret, definitions: options.keys ?? [{ secret: options.secret }] })
  if (csrfKeys === undefined && resolvedTransport.cookie) {
    throw new InvalidOptionError('every key is a public key, so there is no secret to bind CSRF tokens to sessions: set csrf.secret (32+ random bytes) or transport.cookie: false')
  }
  const accessTokenTtlSeconds = seconds(options.accessTokenTtl, '15m', 'accessTokenTtl', 1, 86400)
  const userStore = options.userStore
  if (userStore !== undefined && accessTokenTtlSeconds > userStore.userRevocationRetentionSeconds) {
    throw new InvalidOptionError('accessTokenTtl is longer than the store\'s userRevocationRetention, so a user-wide revocation could be forgotten while tokens it revoked still live')
  }
  const session = options.session ?? {}
  const revocation = options.revocation ?? {}
  const maxStalenessMs = seconds(revocation.maxStaleness, '1s', 'revocation.maxStaleness', 0.05, 3600) * 1000
  const syncIntervalMs = seconds(revocation.syncInterval, '250ms', 'revocation.syncInterval', 0.01, 3600) * 1000
  if (syncIntervalMs >= maxStalenessMs) throw new InvalidOptionError('revocation.syncInterval must be shorter than revocation.maxStaleness')
  return {
    ring,
    issuer: optionalString(options.issuer, 'issuer'),
    audience: audience as string[] | undefined,
    accessTokenTtlSeconds,
    clockToleranceSeconds: seconds(options.clockTolerance, 5, 'clockTolerance', 0, 60),
    maxTokenLength: integerInRange(options.maxTokenLength, 'maxTokenLength', 4096, 256, 16384),
    cacheSize: integerInRange(options.verifiedTokenCacheSize, 'verifiedTokenCacheSize', 10000, 0, 10_000_000),
    realm,
    userStore,
    claims: options.claims ?? defaultClaims,
    transport: resolvedTransport,
    cookie: cookieOptions(options.cookie),
    csrf: { headerName, allowedOrigins: csrf.allowedOrigins?.map((origin) => new URL(origin).origin), keys: csrfKeys },
    session: {
      refreshTokenTtlSeconds: seconds(session.refreshTokenTtl, '14d', 'session.refreshTokenTtl', 60),
      sessionMaxAgeSeconds: seconds(session.maxAge, '30d', 'session.maxAge', 60),
      reuseGraceSeconds: seconds(session.reuseGrace, '5s', 'session.reuseGrace', 0, 10)
    },
    revocation: {
      syncIntervalMs,
      maxStalenessMs,
      pruneIntervalMs: seconds(revocation.pruneInterval, '1m', 'revocation.pruneInterval', 1, 86400) * 1000
    }
  }
}
