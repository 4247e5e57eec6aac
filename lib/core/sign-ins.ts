import type { EmitAuthEvent } from '../audit/auth-events.js'
import { EmailNotVerifiedError } from '../errors.js'
import type { PasswordAttempt, PasswordLogin } from '../login/password-login.js'
import { AUTH_METHODS } from '../mfa/amr.js'
import type { Mfa } from '../mfa/create-mfa.js'
import type { MfaChallenge, MfaLoginStep, PasskeyLoginAttempt } from '../mfa/mfa-login.js'
import type { IssuedSession, SessionService } from '../sessions/session-service.js'
import type { UserRecord } from '../store/ports.js'
import type { AccessTokenClaimsBase } from '../tokens/access-tokens.js'

/** A session and the device token for the browser's cookie. */
export interface SignedIn {
  session: IssuedSession
  deviceToken: string
}

/**
 * What a right password gets: a session, or, for a user with a second factor (the `mfa`
 * option on), the challenge of the second step (no session, no device token yet).
 */
export type LoginOutcome = ({ kind: 'session' } & SignedIn) | { kind: 'mfa', challenge: MfaChallenge }

/** Runs once the user proved who they are and before the session starts; throws to refuse (onLoginSuccess). */
export type BeforeSession = (user: UserRecord) => void | Promise<void>

export interface SignInParts<Claims extends AccessTokenClaimsBase> {
  login: PasswordLogin
  sessions: SessionService<Claims>
  /** Undefined when the `mfa` option is off. */
  mfa: Mfa | undefined
  requireVerifiedEmail: boolean
  emit: EmitAuthEvent
}

/**
 * Every way a user signs in, ending alike: `beforeSession`, a session whose `amr` says how
 * they proved who they are, a device token, and `login.succeeded`.
 */
export class SignIns<Claims extends AccessTokenClaimsBase> {
  readonly #parts: SignInParts<Claims>

  constructor (parts: SignInParts<Claims>) {
    this.#parts = parts
  }

  #mfa (): Mfa {
    if (this.#parts.mfa === undefined) throw new TypeError('second factors need the `mfa` option')
    return this.#parts.mfa
  }

  /** A password login; a user with a second factor gets the challenge of the second step instead of a session. */
  async logIn (attempt: PasswordAttempt, beforeSession?: BeforeSession): Promise<LoginOutcome> {
    const { user, deviceToken } = await this.#parts.login.login(attempt)
    // Decided only once the password was right, so it tells nothing to someone without it.
    this.#checkVerifiedEmail(user, attempt.clientAddress)
    const challenge = await this.#parts.mfa?.login.challengeFor(user, attempt.clientAddress)
    if (challenge !== undefined) return { kind: 'mfa', challenge }
    return { kind: 'session', session: await this.#start(user, AUTH_METHODS.password, attempt, beforeSession), deviceToken }
  }

  /** The second step of a login (see MfaLogin.complete). */
  async completeMfaLogin (step: MfaLoginStep, beforeSession?: BeforeSession): Promise<SignedIn> {
    const { user, authMethods } = await this.#mfa().login.complete(step)
    return { session: await this.#start(user, authMethods, step, beforeSession), deviceToken: this.#parts.login.issueDeviceToken(user) }
  }

  /** A sign-in with a passkey alone (see MfaLogin.passkeySignIn). */
  async passkeyLogIn (attempt: PasskeyLoginAttempt, beforeSession?: BeforeSession): Promise<SignedIn> {
    const { user, authMethods } = await this.#mfa().login.passkeySignIn(attempt)
    this.#checkVerifiedEmail(user, attempt.clientAddress)
    return { session: await this.#start(user, authMethods, attempt, beforeSession), deviceToken: this.#parts.login.issueDeviceToken(user) }
  }

  /** 403 while `requireVerifiedEmail` is on and the user's email is unverified or missing. */
  #checkVerifiedEmail (user: UserRecord, clientAddress: string): void {
    if (this.#parts.requireVerifiedEmail && (user.email === null || user.emailVerifiedAt === null)) {
      this.#parts.emit({ type: 'login.failed', userId: user.id, username: user.username, reason: 'email_not_verified', address: clientAddress })
      throw new EmailNotVerifiedError()
    }
  }

  /** Runs `beforeSession`, then starts the session of a user who proved who they are (`authMethods`: how). */
  async #start (user: UserRecord, authMethods: readonly string[], client: { clientAddress: string, userAgent?: string | undefined }, beforeSession: BeforeSession | undefined): Promise<IssuedSession> {
    try {
      await beforeSession?.(user)
    } catch (error) {
      // The user proved who they are, yet no session: the operator must see the refusal too.
      this.#parts.emit({ type: 'login.failed', userId: user.id, username: user.username, reason: 'refused', address: client.clientAddress })
      throw error
    }
    const session = await this.#parts.sessions.start(user, { clientAddress: client.clientAddress, userAgent: client.userAgent }, authMethods)
    this.#parts.emit({ type: 'login.succeeded', userId: user.id, username: user.username, sessionId: session.sessionId, address: client.clientAddress, authMethods: [...authMethods] })
    return session
  }
}
