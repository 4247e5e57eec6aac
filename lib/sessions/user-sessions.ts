import { contextFields, type ActionContext, type EmitAuthEvent, type SessionEndedEvent } from '../audit/auth-events.js'
import { type Clock, nowSeconds } from '../clock.js'
import { SessionNotFoundError, UserNotFoundError } from '../errors.js'
import type { RefreshFamilyPort, UserPort } from '../store/ports.js'

/** A live session as the user (or an administrator) sees it in a list. Times in whole seconds since the epoch, as every store keeps them. */
export interface SessionSummary {
  id: string
  createdAt: number
  /** Its latest refresh, or its start. */
  lastUsedAt: number
  /** The absolute end of the session: no refresh extends it. */
  expiresAt: number
  /** Where it was last used from: the address and User-Agent of its start or latest refresh. */
  clientAddress: string | null
  userAgent: string | null
}

/** Who ends a session, and from where: the user themselves, or an administrator. */
export interface SessionEndContext extends ActionContext {
  by: 'user' | 'admin'
}

export interface UserSessionsParts {
  users: UserPort
  families: RefreshFamilyPort
  clock: Clock
  /** Revokes one session and its access tokens (SessionService.revoke); true for the call that ended it. */
  revokeSession: (sessionId: string) => Promise<boolean>
  /** Ends every token of the user (Accounts.revokeUserTokens). */
  revokeUserTokens: (userId: string, context: ActionContext) => Promise<void>
  emit: EmitAuthEvent
}

/** "Your sessions": the live sessions of a user, and ending one or all of them. */
export class UserSessions {
  readonly #parts: UserSessionsParts

  constructor (parts: UserSessionsParts) {
    this.#parts = parts
  }

  /** The user's live sessions, newest first. UserNotFoundError for an unknown user. */
  async listSessions (userId: string): Promise<SessionSummary[]> {
    const { users, families, clock } = this.#parts
    if (typeof userId !== 'string') throw new UserNotFoundError()
    const live = await families.listByUser(userId, nowSeconds(clock))
    // A user with no session may not exist at all: only then is the extra read worth it.
    if (live.length === 0 && await users.findById(userId) === undefined) throw new UserNotFoundError()
    return live
      .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
      .map((family) => ({
        id: family.id,
        createdAt: Math.floor(family.createdAt),
        lastUsedAt: Math.floor(family.rotatedAt ?? family.createdAt),
        expiresAt: Math.floor(family.expiresAt),
        clientAddress: family.clientAddress,
        userAgent: family.userAgent
      }))
  }

  /**
   * Ends one live session of the user and its access tokens (refused everywhere within the
   * revocation bound, on this instance at once). SessionNotFoundError when it is not one of
   * theirs, or another call ended it first: only the call that ended it tells `session.ended`.
   */
  async endSession (userId: string, sessionId: string, context: SessionEndContext): Promise<void> {
    const { families, clock, revokeSession } = this.#parts
    if (typeof userId !== 'string' || typeof sessionId !== 'string') throw new SessionNotFoundError()
    const theirs = (await families.listByUser(userId, nowSeconds(clock))).some((family) => family.id === sessionId)
    if (!theirs || !await revokeSession(sessionId)) throw new SessionNotFoundError()
    // The actor's session is `actorSessionId` here: `sessionId` is the session that ended.
    const { by, sessionId: actorSessionId, address, actorId } = context
    const event: Omit<SessionEndedEvent, 'at'> = { type: 'session.ended', userId, by, ...contextFields({ address, actorId }), sessionId }
    if (actorSessionId !== undefined) event.actorSessionId = actorSessionId
    this.#parts.emit(event)
  }

  /** Ends every session and access token of the user: what "log out everywhere" does. */
  async endAllSessions (userId: string, context: ActionContext = {}): Promise<void> {
    await this.#parts.revokeUserTokens(userId, context)
  }
}
