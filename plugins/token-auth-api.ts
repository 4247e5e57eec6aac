import type { FastifyReply } from 'fastify'
import type { ApiKeys } from '../lib/api-keys/api-keys.js'
import type { AuthCore } from '../lib/core/auth-core.js'
import type { UserManagement } from '../lib/core/user-management.js'
import { toSeconds, type Duration } from '../lib/duration.js'
import type { SecondFactors } from '../lib/mfa/second-factors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../lib/options/known-keys.js'
import type { IssuedSession, SessionService } from '../lib/sessions/session-service.js'
import type { JsonWebKeySet } from '../lib/tokens/key-ring.js'
import type { AccessTokenClaims, SignableClaims } from './claims-types.js'
import type { SessionCookies } from './session-cookies.js'
import type { CookieNames, ResolvedTokenAuthOptions } from './token-auth-options.js'

export interface SignOptions {
  /** Lifetime of this token instead of accessTokenTtl; at most maxTokenTtl. */
  expiresIn?: Duration | undefined
  /**
   * When the token was issued (`iat`; `exp` counts from it): a Date or seconds since the
   * epoch, now or in the past, never in the future. Default now. For tests: one hour ago
   * with `expiresIn: '15m'` is a token that verifies as expired.
   */
  issuedAt?: Date | number | undefined
}

const SIGN_OPTIONS: KnownKeys<SignOptions> = { expiresIn: true, issuedAt: true }
const SIGN_OPTION_NAMES = optionNames(SIGN_OPTIONS)

/** Bad sign() options are a mistake in the calling code: a TypeError, not a configuration error. */
function asTypeError<T> (check: () => T): T {
  try {
    return check()
  } catch (error) {
    throw new TypeError((error as Error).message)
  }
}

function issuedAtSeconds (issuedAt: unknown): number | undefined {
  if (issuedAt === undefined || typeof issuedAt === 'number') return issuedAt
  if (issuedAt instanceof Date) return issuedAt.getTime() / 1000
  throw new TypeError('issuedAt must be a Date or a number of seconds since the epoch')
}

/**
 * A user's API keys, for the application's own code (an admin page, a provisioning job):
 * what the apiKeyRoutes do over HTTP. `context` names the session, address and actor for the
 * audit events; `by` (revoke, revokeAll) who revoked, 'user' by default.
 */
export interface ApiKeyManagement {
  /** Creates a key: the `key` in the answer is shown this once and kept nowhere. */
  create: ApiKeys['create']
  /** The user's unrevoked keys (never the keys themselves), oldest first. */
  list: ApiKeys['list']
  rename: ApiKeys['rename']
  revoke: ApiKeys['revoke']
  /** Revokes every key of the user; how many were. */
  revokeAll: ApiKeys['revokeAll']
}

function apiKeyManagementOf (apiKeys: ApiKeys | undefined): ApiKeyManagement | undefined {
  if (apiKeys === undefined) return undefined
  return Object.freeze({
    create: apiKeys.create.bind(apiKeys),
    list: apiKeys.list.bind(apiKeys),
    rename: apiKeys.rename.bind(apiKeys),
    revoke: apiKeys.revoke.bind(apiKeys),
    revokeAll: apiKeys.revokeAll.bind(apiKeys)
  })
}

/**
 * Users' second factors, for the application's own code (its own routes, an admin page):
 * what the mfaRoutes do over HTTP. Every method takes the context of the request that asks
 * (`userId`, `sessionId`, `authMethods` from the access token's sub, sid and amr, the client
 * `address`): a change needs a session, and once the user has a second factor a session
 * signed in with one.
 */
export interface MfaManagement {
  /** TOTP off, pending or on, the recovery codes left, and the passkeys. */
  status: SecondFactors['status']
  /** Starts a TOTP enrollment: the secret, its otpauth:// URI and a QR code. */
  beginTotp: SecondFactors['beginTotp']
  /** Turns TOTP on with a first code; new recovery codes when the user had none. */
  confirmTotp: SecondFactors['confirmTotp']
  disableTotp: SecondFactors['disableTotp']
  /** A new set of recovery codes (the old set void), shown this once. */
  regenerateRecoveryCodes: SecondFactors['regenerateRecoveryCodes']
  /** WebAuthn creation options for a new passkey (needs `mfa.passkeys`). */
  passkeyRegistrationOptions: SecondFactors['passkeyRegistrationOptions']
  registerPasskey: SecondFactors['registerPasskey']
  renamePasskey: SecondFactors['renamePasskey']
  removePasskey: SecondFactors['removePasskey']
}

function mfaManagementOf (factors: SecondFactors | undefined): MfaManagement | undefined {
  if (factors === undefined) return undefined
  return Object.freeze({
    status: factors.status.bind(factors),
    beginTotp: factors.beginTotp.bind(factors),
    confirmTotp: factors.confirmTotp.bind(factors),
    disableTotp: factors.disableTotp.bind(factors),
    regenerateRecoveryCodes: factors.regenerateRecoveryCodes.bind(factors),
    passkeyRegistrationOptions: factors.passkeyRegistrationOptions.bind(factors),
    registerPasskey: factors.registerPasskey.bind(factors),
    renamePasskey: factors.renamePasskey.bind(factors),
    removePasskey: factors.removePasskey.bind(factors)
  })
}

/** `app.tokenAuth`: what applications use besides the request hooks. */
export class TokenAuthDecorator {
  readonly #core: AuthCore<AccessTokenClaims>
  readonly #cookies: SessionCookies
  readonly #options: ResolvedTokenAuthOptions
  readonly #csrfTokenFor: (sessionId: string) => string
  readonly #apiKeys: ApiKeyManagement | undefined
  readonly #mfa: MfaManagement | undefined

  constructor (core: AuthCore<AccessTokenClaims>, cookies: SessionCookies, options: ResolvedTokenAuthOptions, csrfTokenFor: (sessionId: string) => string) {
    this.#core = core
    this.#cookies = cookies
    this.#options = options
    this.#csrfTokenFor = csrfTokenFor
    this.#apiKeys = apiKeyManagementOf(core.stateful?.apiKeys)
    this.#mfa = mfaManagementOf(core.stateful?.mfa)
  }

  /** The realm of WWW-Authenticate challenges. */
  get realm (): string {
    return this.#options.realm
  }

  /** The names of the session cookies (they depend on cookie.secure), for pages and tests. */
  get cookieNames (): CookieNames {
    return this.#options.cookie.names
  }

  #stateful (): NonNullable<AuthCore<AccessTokenClaims>['stateful']> {
    const stateful = this.#core.stateful
    if (stateful === undefined) throw new TypeError('sessions and accounts need a `store` in the tokenAuth options')
    return stateful
  }

  #sessions (): SessionService<AccessTokenClaims> {
    return this.#stateful().sessions
  }

  /** Signs an access token for `claims.sub` with the current key (no session: `sid` and `ver` are refused). */
  async sign (claims: SignableClaims, options: SignOptions = {}): Promise<string> {
    asTypeError(() => { refuseUnknownKeys(options, SIGN_OPTION_NAMES, { owner: 'sign()' }) })
    const ttl = options.expiresIn === undefined ? undefined : asTypeError(() => toSeconds(options.expiresIn as Duration, 'expiresIn'))
    const tokens = this.#core.tokens
    if (tokens === undefined) throw new TypeError('this service has no signing key of its own (it only verifies its issuers\' tokens): set `secret` or `keys` to sign')
    return tokens.sign(claims, ttl, issuedAtSeconds(options.issuedAt)).token
  }

  /** Verifies an access token outside a request (WebSocket handshakes, jobs, …): this service's own or an issuer's. */
  async verify (token: string): Promise<AccessTokenClaims> {
    return await this.#core.verifier.verify(token)
  }

  /** The JWKS document of this service's public keys, for other services to verify with (empty without keys of its own). */
  jwks (): JsonWebKeySet {
    return this.#core.options.ring?.jwks() ?? { keys: [] }
  }

  /**
   * Users and their sessions, written once over the store: create, look up, list, update,
   * change the password, disable, unlock, delete; list a user's sessions and end one or all.
   */
  get accounts (): UserManagement {
    return this.#stateful().management
  }

  /**
   * Users' API keys: create, list, rename, revoke one or all. Reading it throws a TypeError
   * when the `apiKeys` option is off (as `accounts` does without a `store`): a mistake in the
   * calling code, found at its first use.
   */
  get apiKeys (): ApiKeyManagement {
    if (this.#apiKeys === undefined) throw new TypeError('API keys need the `apiKeys` option (and a `store`) in the tokenAuth options')
    return this.#apiKeys
  }

  /**
   * Users' second factors: TOTP, recovery codes, passkeys. Reading it throws a TypeError when
   * the `mfa` option is off, as `apiKeys` does without its option.
   */
  get mfa (): MfaManagement {
    if (this.#mfa === undefined) throw new TypeError('second factors need the `mfa` option (and a `store`) in the tokenAuth options')
    return this.#mfa
  }

  /**
   * Mails the user the link that verifies their email (after sign-up, say). False, sending
   * nothing, when they have no address, it is verified, they are disabled, or the address
   * has had its mails for the window (mailThrottle.perEmail). Needs the `mail` option.
   */
  async sendEmailVerification (userId: string): Promise<boolean> {
    const flows = this.#stateful().accountMail
    if (flows === undefined) throw new TypeError('email verification needs the `mail` option in the tokenAuth options')
    return await flows.emailVerification.sendTo(userId)
  }

  /**
   * Starts a session for a user your own code authenticated (SSO, magic link, …); `client`
   * (the request's address and User-Agent) is what the user's list of sessions shows.
   */
  async startSession (user: Parameters<SessionService['start']>[0], client?: Parameters<SessionService['start']>[1]): Promise<IssuedSession> {
    return await this.#sessions().start(user, client)
  }

  /** Rotates a refresh token: the next access and refresh tokens, or a 401 error. */
  async refreshSession (refreshToken: string): Promise<IssuedSession> {
    return await this.#sessions().refresh(refreshToken)
  }

  /** Ends the access token's session and/or the refresh token's. False when neither named a session. */
  async endSession (access: AccessTokenClaims | undefined, refreshToken?: string): Promise<boolean> {
    return await this.#sessions().logout(access, refreshToken)
  }

  /** Invalidates every access and refresh token of a user, on every instance. */
  async logoutEverywhere (userId: string): Promise<void> {
    await this.#stateful().accounts.revokeUserTokens(userId)
  }

  /** The CSRF token of a session (`sid`): the value of the readable CSRF cookie, for pages that render it. */
  csrfTokenFor (sessionId: string): string {
    return this.#csrfTokenFor(sessionId)
  }

  /** Sets the access, CSRF and refresh cookies of a session (refresh cookie scoped to `refreshPath`). */
  setSessionCookies (reply: FastifyReply, session: IssuedSession, refreshPath: string): void {
    this.#cookies.set(reply, session, refreshPath)
  }

  clearSessionCookies (reply: FastifyReply, refreshPath: string): void {
    this.#cookies.clear(reply, refreshPath)
  }
}

/**
 * The public shape of `app.tokenAuth`, structural rather than the class itself, so that
 * the ESM and CommonJS builds' declarations of it are the same type.
 */
export type TokenAuthApi = { [Member in keyof TokenAuthDecorator]: TokenAuthDecorator[Member] }
