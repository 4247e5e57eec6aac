import type { FastifyReply, FastifyRequest } from 'fastify'
import { toSeconds, type Duration } from '../lib/duration.js'
import { InvalidOptionError } from '../lib/errors.js'
import type { IssuedSession, SessionService } from '../lib/sessions/session-service.js'
import type { UserRecord, UserStore } from '../lib/stores/user-store.js'
import type { AccessTokens } from '../lib/tokens/access-tokens.js'
import type { JsonWebKeySet, KeyRing } from '../lib/tokens/key-ring.js'
import type { AccessTokenClaims, SignableClaims } from './claims-types.js'
import { sessionIdOf, type CsrfProtection } from './csrf-check.js'
import type { SessionCookies } from './session-cookies.js'
import type { CookieNames } from './token-auth-options.js'

export interface SignOptions {
  /** Lifetime of this token instead of accessTokenTtl. */
  expiresIn?: Duration
}

export interface TokenAuthApiParts {
  realm: string
  ring: KeyRing
  tokens: AccessTokens<AccessTokenClaims>
  sessions: SessionService<AccessTokenClaims> | undefined
  userStore: UserStore | undefined
  cookies: SessionCookies
  cookieNames: CookieNames
  cookieTransport: boolean
  csrf: CsrfProtection
}

/** The session of an access token this service has just signed (read back, not verified). */
function sessionIdOfIssued (accessToken: string): string {
  return sessionIdOf(JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as AccessTokenClaims)
}

/** `app.tokenAuth`: everything the plugin offers besides the request hooks. */
export class TokenAuthDecorator {
  readonly #parts: TokenAuthApiParts

  constructor (parts: TokenAuthApiParts) {
    this.#parts = parts
  }

  /** The realm of WWW-Authenticate challenges. */
  get realm (): string {
    return this.#parts.realm
  }

  /** The store given as `userStore`, if any. */
  get userStore (): UserStore | undefined {
    return this.#parts.userStore
  }

  get cookieNames (): CookieNames {
    return this.#parts.cookieNames
  }

  /** True when browsers get session cookies (transport.cookie). */
  get cookieTransport (): boolean {
    return this.#parts.cookieTransport
  }

  #sessions (): SessionService<AccessTokenClaims> {
    if (this.#parts.sessions === undefined) throw new InvalidOptionError('sessions need a `userStore` in the tokenAuth options')
    return this.#parts.sessions
  }

  /** Signs an access token for `claims.sub` with the current key. */
  async sign (claims: SignableClaims, options: SignOptions = {}): Promise<string> {
    const ttl = options.expiresIn === undefined ? undefined : toSeconds(options.expiresIn, 'expiresIn')
    return this.#parts.tokens.sign(claims, ttl).token
  }

  /** Verifies an access token outside a request (WebSocket handshakes, jobs, …). */
  async verify (token: string): Promise<AccessTokenClaims> {
    return this.#parts.tokens.verify(token)
  }

  /** The JWKS document of the public keys (EdDSA, ES256), for other services to verify with. */
  jwks (): JsonWebKeySet {
    return this.#parts.ring.jwks()
  }

  /** Starts a session for a user your own code authenticated (SSO, magic link, …). */
  async startSession (user: UserRecord): Promise<IssuedSession> {
    return await this.#sessions().start(user)
  }

  /** Rotates a refresh token: the next access and refresh tokens, or a 401 error. */
  async refreshSession (refreshToken: string): Promise<IssuedSession> {
    return await this.#sessions().refresh(refreshToken)
  }

  /** Revokes an access token and its session, and/or a refresh token's session. False when neither named a session. */
  async endSession (access: AccessTokenClaims | undefined, refreshToken?: string): Promise<boolean> {
    return await this.#sessions().logout(access, refreshToken)
  }

  /** Invalidates every access and refresh token of a user, on every instance. */
  async logoutEverywhere (userId: string): Promise<void> {
    this.#sessions()
    await (this.#parts.userStore as UserStore).revokeUserTokens(userId)
  }

  /** Throws a 403 unless an unsafe request comes from an allowed origin and carries the CSRF token of `sessionId` (a `sid`). */
  checkCsrf (request: FastifyRequest, sessionId: string): void {
    this.#parts.csrf.checkCsrf(request, sessionId)
  }

  /** Throws a 403 for a request from another site, a sibling subdomain or a foreign origin (login CSRF). */
  checkRequestOrigin (request: FastifyRequest): void {
    this.#parts.csrf.checkRequestOrigin(request)
  }

  /** The CSRF token of a session (`sid`): the value of the readable CSRF cookie. */
  csrfTokenFor (sessionId: string): string {
    return this.#parts.csrf.csrfTokenFor(sessionId)
  }

  /** Sets the access, CSRF and (when given) refresh cookies for a session. */
  setSessionCookies (reply: FastifyReply, session: IssuedSession, refreshPath: string, includeRefreshToken = true): void {
    this.#parts.cookies.set(reply, {
      accessToken: session.accessToken,
      accessTokenTtl: session.expiresIn,
      csrfToken: this.csrfTokenFor(sessionIdOfIssued(session.accessToken)),
      refreshToken: includeRefreshToken ? session.refreshToken : undefined,
      refreshTokenTtl: session.refreshExpiresAt - Date.now() / 1000
    }, refreshPath)
  }

  clearSessionCookies (reply: FastifyReply, refreshPath: string): void {
    this.#parts.cookies.clear(reply, refreshPath)
  }
}

/**
 * The public shape of `app.tokenAuth`, structural rather than the class itself, so that
 * the ESM and CommonJS builds' declarations of it are the same type.
 */
export type TokenAuthApi = { [Member in keyof TokenAuthDecorator]: TokenAuthDecorator[Member] }
