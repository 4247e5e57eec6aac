import { randomUUID } from 'node:crypto'
import { type EmitAuthEvent } from '../audit/auth-events.js'
import { type Clock, nowSeconds } from '../clock.js'
import { RefreshTokenInvalidError } from '../errors.js'
import type { FoundRefreshToken, RefreshFamilyPort, Revocation, RevocationPort, SessionClient, UserPort, UserRecord } from '../store/ports.js'
import type { AccessTokenClaimsBase, AccessTokens } from '../tokens/access-tokens.js'
import type { RateLimit } from './rate-limit.js'
import { clientAddressKey } from '../login/client-address.js'
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
  /** The session (refresh-token family) id: the access token's `sid`. */
  sessionId: string
}

export interface SessionParts<Claims extends AccessTokenClaimsBase> {
  users: UserPort
  families: RefreshFamilyPort
  revocations: RevocationPort
  /** Caps refreshes and logouts per session and per client address. */
  rateLimits: { perSession: RateLimit, perAddress: RateLimit }
  tokens: AccessTokens<Claims>
  claimsFor: ClaimsForUser
  policy: SessionPolicy
  clock: Clock
  /** Told about each session revocation once it is stored, so this instance applies it at once. */
  onRevocation: (revocation: Revocation) => void
  /** Told of each refresh, detected reuse and logout. */
  emit: EmitAuthEvent
}

export interface RefreshOptions {
  /** The client's address, for the per-address rate limit and the session's "last used from". */
  clientAddress?: string | undefined
  /** The request's User-Agent, for the session's "last used from". */
  userAgent?: string | undefined
  /**
   * Runs after the token's session is known and before anything is spent; throws to
   * refuse (the cookie route checks CSRF against that session here).
   */
  beforeSpend?: ((sessionId: string) => void) | undefined
}

export interface LogoutOptions {
  /** The client's address, for the per-address rate limit. */
  clientAddress?: string | undefined
  /**
   * Runs once the refresh token's session is known (undefined for an unknown token) and
   * before anything is written; throws to refuse (the cookie route checks CSRF here).
   */
  beforeEnd?: ((sessionId: string | undefined) => void) | undefined
}

/** What a request tells of its client; either may be missing. */
export interface SessionClientSeen {
  clientAddress?: string | null | undefined
  userAgent?: string | null | undefined
}

// Enough for every real browser's User-Agent; a longer one is cut, not refused.
const MAX_USER_AGENT_LENGTH = 512
// Enough for any IP address (IPv6 with a zone included). The address can be the client's own
// words (X-Forwarded-For under `trustProxy: true`, a header read by `clientAddress`): a
// longer one is cut like the User-Agent, never a failed write that costs the user the login.
const MAX_SESSION_CLIENT_ADDRESS_LENGTH = 64

/** Where a session is used from, as stored: unknown parts are null, both bounded. */
export function sessionClient ({ clientAddress, userAgent }: SessionClientSeen): SessionClient {
  return {
    clientAddress: typeof clientAddress === 'string' ? clientAddress.slice(0, MAX_SESSION_CLIENT_ADDRESS_LENGTH) : null,
    userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent.slice(0, MAX_USER_AGENT_LENGTH) : null
  }
}

/**
 * Sessions: a login starts a refresh-token family, every refresh swaps the family's
 * current token for its successor in one compare-and-swap, and a spent token coming back
 * (outside the grace window) revokes the family and every access token issued in it
 * (RFC 9700 §4.14.2). Revocation and rotation both change the family row, so they
 * serialise on every database.
 */
export class SessionService<Claims extends AccessTokenClaimsBase = AccessTokenClaimsBase> {
  readonly #parts: SessionParts<Claims>
  readonly #emit: EmitAuthEvent

  constructor (parts: SessionParts<Claims>) {
    this.#parts = parts
    this.#emit = parts.emit
  }

  #now (): number {
    return nowSeconds(this.#parts.clock)
  }

  #issue (user: UserRecord, sessionId: string, refreshToken: string, refreshExpiresAt: number): IssuedSession {
    const signed = this.#parts.tokens.signForSession({ ...this.#parts.claimsFor(user), sub: user.id, sid: sessionId, ver: user.tokenVersion })
    return { user, accessToken: signed.token, expiresIn: signed.exp - signed.iat, refreshToken, refreshExpiresAt, sessionId }
  }

  /**
   * Starts a new session (refresh-token family) for a user who just proved who they are,
   * from `client` (shown in the user's list of sessions).
   */
  async start (user: UserRecord, client: SessionClientSeen = {}): Promise<IssuedSession> {
    const { policy, families } = this.#parts
    const createdAt = this.#now()
    const id = randomUUID()
    const refresh = newRefreshToken()
    const expiresAt = createdAt + policy.sessionMaxAgeSeconds
    const tokenExpiresAt = Math.min(createdAt + policy.refreshTokenTtlSeconds, expiresAt)
    await families.create({ id, userId: user.id, tokenVersion: user.tokenVersion, createdAt, expiresAt, ...sessionClient(client), authMethods: ['pwd'] }, { hash: refresh.hash, expiresAt: tokenExpiresAt })
    return this.#issue(user, id, refresh.token, tokenExpiresAt)
  }

  /** When every access token of a session issued up to now has expired, even with clock tolerance. */
  #accessTokensExpireBy (now: number): number {
    return Math.ceil(now + this.#parts.policy.accessTokenTtlSeconds + this.#parts.policy.clockToleranceSeconds)
  }

  /** Revokes a session; true when this call ended it (a revoked or unknown one writes nothing). */
  async revoke (sessionId: string): Promise<boolean> {
    const now = this.#now()
    const expiresAt = this.#accessTokensExpireBy(now)
    const revoked = await this.#parts.families.revoke(sessionId, now, expiresAt)
    if (revoked) this.#parts.onRevocation({ kind: 'session', subject: sessionId, version: 0, expiresAt })
    return revoked
  }

  /** The session a refresh token belongs to, or undefined; nothing is spent. */
  async find (presented: unknown): Promise<FoundRefreshToken | undefined> {
    return looksLikeRefreshToken(presented) ? await this.#parts.families.findByToken(hashRefreshToken(presented)) : undefined
  }

  /** Why a token that did not rotate was refused; revokes the family when it was stolen. */
  async #refusal (found: FoundRefreshToken, now: number, address: string | undefined): Promise<Error> {
    const { family, token } = found
    if (family.revokedAt !== null) return new RefreshTokenInvalidError('revoked')
    if (token.expiresAt <= now || family.expiresAt <= now) return new RefreshTokenInvalidError('expired')
    // Stores may keep whole seconds (the knex store does): compare at that resolution, so
    // that the grace window is never shorter than configured.
    const inGrace = family.previousTokenHash === token.hash && family.rotatedAt !== null &&
      Math.floor(now) - Math.floor(family.rotatedAt) <= this.#parts.policy.reuseGraceSeconds
    if (inGrace) return new RefreshTokenInvalidError('already used by a concurrent refresh')
    // Two requests replaying the same token both get here; only the one whose write ended the session tells.
    if (await this.revoke(family.id)) this.#emit({ type: 'session.reuse_detected', userId: family.userId, sessionId: family.id, address })
    return new RefreshTokenInvalidError('already used; the session was revoked')
  }

  /** Spends a refresh token and returns the next access and refresh tokens. */
  async refresh (presented: unknown, options: RefreshOptions = {}): Promise<IssuedSession> {
    this.#limitAddress(options.clientAddress)
    const found = await this.find(presented)
    if (found === undefined) throw new RefreshTokenInvalidError('unknown token')
    const { family, token } = found
    options.beforeSpend?.(family.id)
    this.#parts.rateLimits.perSession.hit(family.id)
    const now = this.#now()
    if (family.revokedAt !== null || family.currentTokenHash !== token.hash || token.expiresAt <= now || family.expiresAt <= now) {
      throw await this.#refusal(found, now, options.clientAddress)
    }
    const user = await this.#parts.users.findById(family.userId)
    if (user === undefined || user.disabled || user.tokenVersion !== family.tokenVersion) {
      await this.revoke(family.id)
      throw new RefreshTokenInvalidError('revoked')
    }
    const next = newRefreshToken()
    const expiresAt = Math.min(now + this.#parts.policy.refreshTokenTtlSeconds, family.expiresAt)
    const client = sessionClient({ clientAddress: options.clientAddress, userAgent: options.userAgent })
    if (!await this.#parts.families.rotate(family.id, token.hash, { hash: next.hash, expiresAt }, now, client)) {
      // Something changed it since the read: a concurrent refresh, a logout. Read again to say which.
      const again = await this.#parts.families.findByToken(token.hash)
      throw again === undefined ? new RefreshTokenInvalidError('unknown token') : await this.#refusal(again, now, options.clientAddress)
    }
    this.#emit({ type: 'session.refreshed', userId: user.id, sessionId: family.id, address: options.clientAddress })
    return this.#issue(user, family.id, next.token, expiresAt)
  }

  #limitAddress (clientAddress: string | undefined): void {
    // An IPv6 client holds its whole /64, as for the login throttle: counted as one.
    if (clientAddress !== undefined) this.#parts.rateLimits.perAddress.hit(clientAddressKey(clientAddress))
  }

  /**
   * Ends a session: the access token's session (`sid`), or the token alone (`jti`) when it
   * has none, and the refresh token's session. An already-ended session writes nothing.
   * False when neither named a session.
   */
  async logout (access: AccessTokenClaimsBase | undefined, refreshToken: unknown, options: LogoutOptions = {}): Promise<boolean> {
    this.#limitAddress(options.clientAddress)
    const found = await this.find(refreshToken)
    options.beforeEnd?.(found?.family.id)
    // An event for each session this call ended; one that had already ended writes and tells nothing.
    const ended = (userId: string, sessionId: string | undefined): void => {
      this.#emit({ type: 'session.logged_out', userId, sessionId, address: options.clientAddress })
    }
    if (access !== undefined) {
      this.#parts.rateLimits.perSession.hit(access.sid ?? access.jti)
      if (access.sid !== undefined) {
        if (await this.revoke(access.sid)) ended(access.sub, access.sid)
      } else {
        const revocation: Revocation = { kind: 'token', subject: access.jti, version: 0, expiresAt: Math.ceil(access.exp + this.#parts.policy.clockToleranceSeconds) }
        await this.#parts.revocations.append(revocation, this.#now())
        this.#parts.onRevocation(revocation)
        ended(access.sub, undefined)
      }
    }
    if (found !== undefined && found.family.id !== access?.sid && await this.revoke(found.family.id)) ended(found.family.userId, found.family.id)
    return access !== undefined || found !== undefined
  }
}
