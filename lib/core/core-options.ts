import type { AuthEventHandler } from '../audit/auth-events.js'
import { toSeconds, type Duration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import { BcryptPasswordHasher, checkBcryptCost, DEFAULT_BCRYPT_COST, type PasswordHasher } from '../accounts/password-hasher.js'
import type { PasswordLoginOptions } from '../login/login-options.js'
import type { ThrottleOptions } from '../login/throttle-policy.js'
import type { AuthStore, UserRecord } from '../store/ports.js'
import { resolveIssuers, type IssuerOptions, type ResolvedIssuer } from '../issuers/issuer-options.js'
import { createKeyRing, createRingKey, KeyRing, type KeyDefinition } from '../tokens/key-ring.js'
import { weakSecretPolicy, type WeakSecretPolicy } from '../tokens/weak-secret-policy.js'
import { refuseUnknownCoreOptions } from './core-option-keys.js'
import { flag, integerInRange, optionalString } from '../options/option-values.js'
import { shownValue } from '../shown-value.js'
import { resolveMailOptions } from '../mail/create-mailer.js'
import type { MailOptions } from '../mail/mail-port.js'
import type { MailThrottlePolicy } from '../login/mail-throttle.js'
import { MAX_THROTTLE_SECONDS } from '../login/throttle-policy.js'
import { resolveApiKeyOptions, type ApiKeyOptions, type ResolvedApiKeyOptions } from '../api-keys/api-key-options.js'
import { withGrantedScope } from '../api-keys/session-scope.js'
import { resolveMfaOptions, type MfaOptions, type ResolvedMfaOptions } from '../mfa/mfa-options.js'
import { keyDefinitionsOf } from '../tokens/derived-keys.js'

/** What the core takes: keys, token policy, the store and the session rules. */
export interface AuthCoreOptions {
  /**
   * HMAC secret (HS256) of at least 32 random bytes. Or give `keys`. A secret that looks like
   * words or a pattern (estimated under 128 bits of guessing work) is refused: see allowWeakSecret.
   */
  secret?: string | Buffer | undefined
  /** Key ring: the first key signs, every key verifies (rotation). Each has one algorithm. */
  keys?: KeyDefinition[] | undefined
  /**
   * Accept a readable secret (still of the minimum length) such as 'my-app-test-secret-…', with
   * one warning at startup: for tests. Default: true when NODE_ENV is 'test', false otherwise.
   * Under NODE_ENV=production a guessable secret is always refused, and true is an error.
   */
  allowWeakSecret?: boolean | undefined
  /**
   * Other services whose tokens this one accepts (an auth service of this package, or any
   * standard IdP): each by its `iss`, verified with the keys of its JWKS URL only. A service
   * with issuers needs no `secret` or `keys` of its own.
   */
  issuers?: IssuerOptions[] | undefined
  /** `iss` written into tokens and required on verify. */
  issuer?: string | undefined
  /** `aud` written into tokens; a verified token must name one of these. */
  audience?: string | string[] | undefined
  /** Access-token lifetime. Default '15m'. */
  accessTokenTtl?: Duration | undefined
  /**
   * Longest lifetime `sign()` may give a token. User-wide revocations are kept this long
   * (plus clock tolerance), so no revoked token outlives its revocation. Default '1d'.
   */
  maxTokenTtl?: Duration | undefined
  /** Allowed clock difference for exp/nbf/iat. Default 5 s, at most 60 s. */
  clockTolerance?: Duration | undefined
  /** Longer tokens are refused before decoding. Default 4096 characters. */
  maxTokenLength?: number | undefined
  /** Verified tokens remembered for speed (bounded, revocation-aware). Default 10000; 0 disables. */
  verifiedTokenCacheSize?: number | undefined
  /** Users, sessions, revocations and attempt counters; needed for logins, logout and revocation. */
  store?: AuthStore | undefined
  /** Application claims put into a user's access tokens. Default: `roles` when the user has any. */
  claims?: ((user: UserRecord) => Record<string, unknown>) | undefined
  passwords?: {
    /**
     * bcrypt cost for new hashes; logins rehash older, cheaper hashes. Default 12, at least 10.
     * 4 to 9 are accepted only when NODE_ENV is 'test': `{ bcryptCost: 4 }` is the fast test hasher.
     */
    bcryptCost?: number | undefined
    /** bcrypt computations at once. Default: UV_THREADPOOL_SIZE - 1 (3). */
    bcryptConcurrency?: number | undefined
    /** bcrypt computations that may wait for a turn; past it a login answers 503 with Retry-After at once. Default 64. */
    bcryptQueue?: number | undefined
    /** Replaces bcrypt altogether (bcryptCost is then ignored); for tests, a fast one. */
    hasher?: PasswordHasher | undefined
    /** Shortest password createUser and changePassword accept, in characters. Default 8. */
    minLength?: number | undefined
  } | undefined
  /** Failed-login throttling per account (or device) and per client address, in the store. */
  throttle?: ThrottleOptions | undefined
  login?: Pick<PasswordLoginOptions, 'maxInFlightPerAccount' | 'maxInFlightPerAddress'> | undefined
  session?: {
    /** Refresh-token lifetime (each rotation starts a new one). Default '14d'. */
    refreshTokenTtl?: Duration | undefined
    /** Absolute session length: no rotation extends a session past it. Default '30d'. */
    maxAge?: Duration | undefined
    /** A spent refresh token presented again within this is a concurrent refresh, not theft. Default '5s', at most '10s'. */
    reuseGrace?: Duration | undefined
    /** Refreshes and logouts one session may make per minute. Default 30. */
    perSessionPerMinute?: number | undefined
    /** Refreshes and logouts one client address may make per minute. Default 300. */
    perAddressPerMinute?: number | undefined
  } | undefined
  revocation?: {
    /** How often revocations are read from the store. Default '250ms'. */
    syncInterval?: Duration | undefined
    /** Longest a revocation can go unseen by another instance; past it verification answers 503. Default '1s'. */
    maxStaleness?: Duration | undefined
    /** How often expired rows are pruned. Default '1m'. */
    pruneInterval?: Duration | undefined
    /**
     * Read revocations as soon as the store announces them (the knex store on PostgreSQL,
     * with LISTEN/NOTIFY), besides polling every syncInterval. Default true; without a
     * store that announces, only polling runs.
     */
    push?: boolean | undefined
  } | undefined
  /**
   * Told of every login, failed login, lockout, refresh, detected refresh-token reuse,
   * logout and account change, with the user, session, client address and time; never a
   * password, token or hash (see AuthEvent). Called synchronously once the action is done
   * or refused; an async handler is not awaited, and whatever a handler throws or rejects
   * with is logged, never changing the answer to the request.
   */
  onAuthEvent?: AuthEventHandler | undefined
  /**
   * Account mail (password reset, email verification and change): the transport, the sender
   * and the pages the links open. Needs a `store`. Without it those flows and routes are off.
   */
  mail?: MailOptions | undefined
  /**
   * Refuse a login with the right password (403 FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED) while the
   * account's email is unverified or missing. Default false.
   */
  requireVerifiedEmail?: boolean | undefined
  passwordReset?: {
    /** How long a reset link works. Default '30m', from '5m' to '24h'. */
    tokenTtl?: Duration | undefined
    /** A reset also signs the user in (the route answers a session, like a login). Default false. */
    logIn?: boolean | undefined
  } | undefined
  emailVerification?: {
    /** How long a verification link (an email change's too) works. Default '24h', from '5m' to '7d'. */
    tokenTtl?: Duration | undefined
  } | undefined
  /** Throttling of the account-mail routes, in the store's attempt counters (shared by every instance). */
  mailThrottle?: {
    /** Mail requests (forgotten password, resend, email change) one client address may make per window; then 429. Default 10. */
    perAddress?: number | undefined
    /** Mails one email address may be sent per window; past it requests are answered alike and send nothing. Default 3. */
    perEmail?: number | undefined
    /** Failed reset or verification links one client address may present per window; then 429. Default 20. */
    failedLinksPerAddress?: number | undefined
    /** Default '1h', at most '24h'. */
    window?: Duration | undefined
  } | undefined
  /**
   * API keys (personal access tokens) users create for scripts and integrations: `Bearer` keys
   * with scopes, looked up by hash, revocable, cached. Needs a `store`. Absent: off.
   */
  apiKeys?: ApiKeyOptions | undefined
  /**
   * Second factors: TOTP authenticator apps, recovery codes and (with `passkeys`) WebAuthn
   * passkeys, a two-step login for users who have one, and `amr` in access tokens. Needs a
   * `store`. Absent: off (logins never read factors).
   */
  mfa?: MfaOptions | undefined
}

export interface ResolvedCoreOptions {
  /** Undefined for a service that only verifies its issuers' tokens. */
  ring: KeyRing | undefined
  issuers: ResolvedIssuer[]
  /** Options whose guessable secret was accepted (tests only), for one warning at startup. */
  weakSecrets: string[]
  /** As given (checked): route plugins judge their own secrets by the same rule. */
  allowWeakSecret: boolean | undefined
  issuer: string | undefined
  audience: string[] | undefined
  accessTokenTtlSeconds: number
  maxTokenTtlSeconds: number
  clockToleranceSeconds: number
  maxTokenLength: number
  cacheSize: number
  store: AuthStore | undefined
  claims: (user: UserRecord) => Record<string, unknown>
  hasher: PasswordHasher
  minPasswordLength: number
  throttle: ThrottleOptions | undefined
  login: AuthCoreOptions['login']
  session: { refreshTokenTtlSeconds: number, sessionMaxAgeSeconds: number, reuseGraceSeconds: number, perSessionPerMinute: number, perAddressPerMinute: number }
  revocation: { syncIntervalMs: number, maxStalenessMs: number, pruneIntervalMs: number, push: boolean }
  onAuthEvent: AuthEventHandler | undefined
  mail: MailOptions | undefined
  requireVerifiedEmail: boolean
  passwordReset: { ttlSeconds: number, logIn: boolean }
  emailVerification: { ttlSeconds: number }
  mailThrottle: MailThrottlePolicy
  /** Undefined when API keys are off. */
  apiKeys: ResolvedApiKeyOptions | undefined
  /** Undefined when second factors are off. */
  mfa: ResolvedMfaOptions | undefined
}

const defaultClaims = (user: UserRecord): Record<string, unknown> => user.roles.length > 0 ? { roles: user.roles } : {}

function seconds (value: Duration | undefined, fallback: Duration, name: string, min?: number, max?: number): number {
  return toSeconds(value ?? fallback, name, min, max)
}

function keyRingFrom (options: AuthCoreOptions, policy: WeakSecretPolicy): KeyRing | undefined {
  if (options.secret !== undefined && options.keys !== undefined) throw new InvalidOptionError('give `secret` or `keys`, not both')
  if (options.keys !== undefined) return createKeyRing(options.keys, policy)
  if (options.secret === undefined) {
    if (options.issuers !== undefined && options.issuers.length > 0) return undefined
    throw new InvalidOptionError('a signing secret is required: set `secret` (32+ random bytes) or `keys`; a service that only verifies other services\' tokens sets `issuers`')
  }
  return new KeyRing([createRingKey({ secret: options.secret }, 'secret', { policy, secretName: 'secret' })])
}

function checkStore (store: unknown, ring: KeyRing | undefined): AuthStore | undefined {
  if (store === undefined) return undefined
  if (ring === undefined) throw new InvalidOptionError('a store holds sessions, and sessions are signed with this service\'s own keys: set `secret` or `keys` too')
  const ports = ['users', 'families', 'revocations', 'attempts'] as const
  if (typeof store !== 'object' || store === null || !ports.every((port) => typeof (store as Record<string, unknown>)[port] === 'object')) {
    throw new InvalidOptionError('store must implement the store contract (users, families, revocations, attempts): createMemoryStore() or createKnexStore({ knex })')
  }
  return store as AuthStore
}

function passwordOptions (options: AuthCoreOptions['passwords'] = {}): { hasher: PasswordHasher, minPasswordLength: number } {
  const hasher = options.hasher ??
    new BcryptPasswordHasher(checkBcryptCost(options.bcryptCost ?? DEFAULT_BCRYPT_COST, 'passwords.bcryptCost'), options.bcryptConcurrency, options.bcryptQueue)
  return { hasher, minPasswordLength: integerInRange(options.minLength, 'passwords.minLength', 8, 1, 64) }
}

function accountMailOptions (options: AuthCoreOptions, store: AuthStore | undefined): Pick<ResolvedCoreOptions, 'mail' | 'requireVerifiedEmail' | 'passwordReset' | 'emailVerification' | 'mailThrottle'> {
  const mail = options.mail === undefined ? undefined : resolveMailOptions(options.mail)
  if (mail !== undefined && store === undefined) throw new InvalidOptionError('account mail needs a `store` for its single-use links: set `store` too, or leave `mail` out')
  const reset = options.passwordReset ?? {}
  const verification = options.emailVerification ?? {}
  const throttle = options.mailThrottle ?? {}
  return {
    mail,
    requireVerifiedEmail: flag(options.requireVerifiedEmail, 'requireVerifiedEmail'),
    passwordReset: { ttlSeconds: Math.round(seconds(reset.tokenTtl, '30m', 'passwordReset.tokenTtl', 300, 86400)), logIn: flag(reset.logIn, 'passwordReset.logIn') },
    emailVerification: { ttlSeconds: Math.round(seconds(verification.tokenTtl, '24h', 'emailVerification.tokenTtl', 300, 7 * 86400)) },
    mailThrottle: {
      requestsPerAddress: integerInRange(throttle.perAddress, 'mailThrottle.perAddress', 10, 1, 100_000),
      mailsPerRecipient: integerInRange(throttle.perEmail, 'mailThrottle.perEmail', 3, 1, 1000),
      tokenFailuresPerAddress: integerInRange(throttle.failedLinksPerAddress, 'mailThrottle.failedLinksPerAddress', 20, 1, 100_000),
      windowSeconds: Math.round(seconds(throttle.window, '1h', 'mailThrottle.window', 1, MAX_THROTTLE_SECONDS))
    }
  }
}

function apiKeyOptions (options: AuthCoreOptions, store: AuthStore | undefined): ResolvedApiKeyOptions | undefined {
  const apiKeys = resolveApiKeyOptions(options.apiKeys)
  if (apiKeys !== undefined && (store === undefined || typeof (store as Partial<AuthStore>).apiKeys !== 'object')) {
    throw new InvalidOptionError('API keys are kept in the store: set a `store` that implements the apiKeys port too, or leave `apiKeys` out')
  }
  return apiKeys
}

const MFA_PORTS = ['totp', 'recoveryCodes', 'passkeys', 'challenges'] as const

function mfaOptions (options: AuthCoreOptions, store: AuthStore | undefined, policy: WeakSecretPolicy): ResolvedMfaOptions | undefined {
  const mfa = resolveMfaOptions(options.mfa, keyDefinitionsOf(options), policy)
  if (mfa !== undefined && (store === undefined || !MFA_PORTS.every((port) => typeof (store as Partial<AuthStore>)[port] === 'object'))) {
    throw new InvalidOptionError('second factors are kept in the store: set a `store` that implements the totp, recoveryCodes, passkeys and challenges ports too, or leave `mfa` out')
  }
  return mfa
}

/** Validates every core option once: a bad configuration fails at startup, never a request. */
export function resolveCoreOptions (options: AuthCoreOptions): ResolvedCoreOptions {
  refuseUnknownCoreOptions(options)
  const audience = options.audience === undefined ? undefined : ([] as unknown[]).concat(options.audience)
  if (audience !== undefined && (audience.length === 0 || !audience.every((value) => typeof value === 'string' && value.length > 0))) {
    throw new InvalidOptionError('audience must be a non-empty string or array of non-empty strings')
  }
  if (options.claims !== undefined && typeof options.claims !== 'function') throw new InvalidOptionError('claims must be a function (user) => object')
  if (options.onAuthEvent !== undefined && typeof options.onAuthEvent !== 'function') {
    throw new InvalidOptionError(`onAuthEvent must be a function (event) => void; got ${shownValue(options.onAuthEvent)}`)
  }
  const accessTokenTtlSeconds = seconds(options.accessTokenTtl, '15m', 'accessTokenTtl', 1, 86400)
  const maxTokenTtlSeconds = seconds(options.maxTokenTtl, '1d', 'maxTokenTtl', 1, 366 * 86400)
  if (maxTokenTtlSeconds < accessTokenTtlSeconds) throw new InvalidOptionError('maxTokenTtl must be at least accessTokenTtl')
  const weakSecrets: string[] = []
  const policy = weakSecretPolicy(options.allowWeakSecret, (name) => { weakSecrets.push(name) })
  const session = options.session ?? {}
  const revocation = options.revocation ?? {}
  const maxStalenessMs = seconds(revocation.maxStaleness, '1s', 'revocation.maxStaleness', 0.05, 3600) * 1000
  const syncIntervalMs = seconds(revocation.syncInterval, '250ms', 'revocation.syncInterval', 0.01, 3600) * 1000
  if (syncIntervalMs >= maxStalenessMs) throw new InvalidOptionError('revocation.syncInterval must be shorter than revocation.maxStaleness')
  const ring = keyRingFrom(options, policy)
  const issuer = optionalString(options.issuer, 'issuer')
  const store = checkStore(options.store, ring)
  const apiKeys = apiKeyOptions(options, store)
  return {
    ring,
    issuers: resolveIssuers(options.issuers, issuer),
    weakSecrets,
    allowWeakSecret: options.allowWeakSecret,
    issuer,
    audience: audience as string[] | undefined,
    accessTokenTtlSeconds,
    maxTokenTtlSeconds,
    clockToleranceSeconds: seconds(options.clockTolerance, 5, 'clockTolerance', 0, 60),
    maxTokenLength: integerInRange(options.maxTokenLength, 'maxTokenLength', 4096, 256, 16384),
    cacheSize: integerInRange(options.verifiedTokenCacheSize, 'verifiedTokenCacheSize', 10000, 0, 10_000_000),
    store,
    claims: withGrantedScope(options.claims ?? defaultClaims, apiKeys?.catalogue),
    ...passwordOptions(options.passwords),
    throttle: options.throttle,
    login: options.login,
    session: {
      refreshTokenTtlSeconds: seconds(session.refreshTokenTtl, '14d', 'session.refreshTokenTtl', 60),
      sessionMaxAgeSeconds: seconds(session.maxAge, '30d', 'session.maxAge', 60),
      reuseGraceSeconds: seconds(session.reuseGrace, '5s', 'session.reuseGrace', 0, 10),
      perSessionPerMinute: integerInRange(session.perSessionPerMinute, 'session.perSessionPerMinute', 30, 1, 100_000),
      perAddressPerMinute: integerInRange(session.perAddressPerMinute, 'session.perAddressPerMinute', 300, 1, 1_000_000)
    },
    revocation: {
      syncIntervalMs,
      maxStalenessMs,
      pruneIntervalMs: seconds(revocation.pruneInterval, '1m', 'revocation.pruneInterval', 1, 86400) * 1000,
      push: revocation.push === undefined ? true : flag(revocation.push, 'revocation.push')
    },
    onAuthEvent: options.onAuthEvent,
    ...accountMailOptions(options, store),
    apiKeys,
    mfa: mfaOptions(options, store, policy)
  }
}
