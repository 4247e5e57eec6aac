import { randomUUID } from 'node:crypto'
import { RefreshTokenInvalidError } from '../errors.js'
import type { UserRecord, UserStore } from '../stores/user-store.js'
import type { AccessTokenClaimsBase, AccessTokens } from '../tokens/access-tokens.js'
import { hashRefreshToken, looksLikeRefreshToken, newRefreshToken } from './refresh-token.js'

export interface SessionPolicy {
  accessTokenTtlSeconds: number
  clockToleranceSeconds: number
  refreshTokenTtlSeconds: number
  /** Absolute session length: rotation never extends a refresh-token family past it. */
  sessionMaxAgeSeconds: number
  /** A spent refresh token presented again this soon is a concurrent refresh, not theft. */
  reuseGraceSeconds: number
}

/** Application claims for a user's access tokens (roles, tenant, …). */
export type ClaimsForUser = (user: UserRecord) => Record<string, unknown>

export interface IssuedSession {
  user: UserRecord
  accessToken: string
  /** Seconds the access token lives. */
  expiresIn: number
  refreshToken: string
  /** Seconds since the epoch when the refresh token expires. */
  refreshExpiresAt: number
}

const now = (): number => Date.now() / 1000

/**
 * Sessions: a login starts a refresh-token family, every refresh spends one token of it
 * and issues its successor, and a spent token coming back (outside the grace window)
 * revokes the family and every access token issued in it (RFC 9700 §4.14.2).
 */
export class SessionService<Claims extends AccessTokenClaimsBase = AccessTokenClaimsBase> {
  readonly #store: UserStore
  readonly #tokens: AccessTokens<Claims>
  readonly #claimsFor: ClaimsForUser
  readonly #policy: SessionPolicy

  constructor (store: UserStore, tokens: AccessTokens<Claims>, claimsFor: ClaimsForUser, policy: SessionPolicy) {
    this.#store = store
    this.#tokens = tokens
    this.#claimsFor = claimsFor
    this.#policy = policy
  }

  /** When every access token issued up to now has expired, even with clock tolerance. */
  get #accessTokensExpireBy (): number {
    return now() + this.#policy.accessTokenTtlSeconds + this.#policy.clockToleranceSeconds
  }

  #issue (user: UserRecord, familyId: string, refreshToken: string, refreshExpiresAt: number): IssuedSession {
    const signed = this.#tokens.signForSession({ ...this.#claimsFor(user), sub: user.id, sid: familyId, ver: user.tokenVersion })
    return {
      user,
      accessToken: signed.token,
      expiresIn: signed.exp - signed.iat,
      refreshToken,
      refreshExpiresAt
    }
  }

  /** Starts a new session (refresh-token family) for a user who just proved who they are. */
  async start (user: UserRecord): Promise<IssuedSession> {
    const issuedAt = now()
    const familyId = randomUUID()
    const refresh = newRefreshToken()
    const sessionExpiresAt = issuedAt + this.#policy.sessionMaxAgeSeconds
    const expiresAt = Math.min(issuedAt + this.#policy.refreshTokenTtlSeconds, sessionExpiresAt)
    await this.#store.insertRefreshToken({
      tokenHash: refresh.hash, userId: user.id, familyId, tokenVersion: user.tokenVersion, issuedAt, expiresAt, sessionExpiresAt
    })
    return this.#issue(user, familyId, refresh.token, expiresAt)
  }

  async #revokeFamily (familyId: string): Promise<void> {
    await this.#store.revokeSession(familyId, now(), this.#accessTokensExpireBy)
  }

  /** Spends a refresh token and returns the next access and refresh tokens. */
  async refresh (presented: unknown): Promise<IssuedSession> {
    if (!looksLikeRefreshToken(presented)) throw new RefreshTokenInvalidError('unknown token')
    const at = now()
    const next = newRefreshToken()
    const result = await this.#store.spendRefreshToken(hashRefreshToken(presented), at, (spent) => ({
      tokenHash: next.hash,
      userId: spent.userId,
      familyId: spent.familyId,
      tokenVersion: spent.tokenVersion,
      issuedAt: at,
      expiresAt: Math.min(at + this.#policy.refreshTokenTtlSeconds, spent.sessionExpiresAt),
      sessionExpiresAt: spent.sessionExpiresAt
    }))
    const token = result.token
    if (token === undefined) throw new RefreshTokenInvalidError('unknown token')
    if (!result.spent) {
      if (token.revokedAt !== null) throw new RefreshTokenInvalidError('revoked')
      if (token.usedAt === null) throw new RefreshTokenInvalidError('expired')
      // Stores may keep whole seconds (the knex store does): compare at that resolution, so
      // that the grace window is never shorter than configured.
      if (Math.floor(at) - Math.floor(token.usedAt) <= this.#policy.reuseGraceSeconds) throw new RefreshTokenInvalidError('already used by a concurrent refresh')
      await this.#revokeFamily(token.familyId)
      throw new RefreshTokenInvalidError('already used; the session was revoked')
    }
    const user = await this.#store.findUserById(token.userId)
    if (user === undefined || user.disabled || user.tokenVersion !== token.tokenVersion) {
      await this.#revokeFamily(token.familyId)
      throw new RefreshTokenInvalidError('revoked')
    }
    return this.#issue(user, token.familyId, next.token, Math.min(at + this.#policy.refreshTokenTtlSeconds, token.sessionExpiresAt))
  }

  /**
   * Ends a session: the access token's `jti` is denied until it expires, and the family
   * of the access token (`sid`) or of the refresh token is revoked. False when neither
   * named a session.
   */
  async logout (access: AccessTokenClaimsBase | undefined, refreshToken: unknown): Promise<boolean> {
    let ended = access !== undefined
    if (access !== undefined) {
      await this.#store.addRevocation({ kind: 'token', subject: access.jti, version: 0, expiresAt: access.exp + this.#policy.clockToleranceSeconds })
      if (access.sid !== undefined) await this.#revokeFamily(access.sid)
    }
    if (looksLikeRefreshToken(refreshToken)) {
      const token = await this.#store.findRefreshToken(hashRefreshToken(refreshToken))
      if (token !== undefined && token.familyId !== access?.sid) await this.#revokeFamily(token.familyId)
      ended ||= token !== undefined
    }
    return ended
  }
}
