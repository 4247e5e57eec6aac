import type { Clock } from '../clock.js'

/** Why the credentials failed: the client always gets the same 401, the operator sees this. */
export type CredentialFailureReason = 'unknown_user' | 'wrong_password' | 'unusable_password' | 'disabled_user'

/**
 * What every event carries. `at` is milliseconds since the epoch from the core's clock;
 * `userId` is undefined when no user is known (a failed login for a name nobody has);
 * `sessionId` is the session the event is about (or acted from), when there is one;
 * `address` is the client address the request came from, when the event came from one;
 * `actorId` is the user who acted when it was someone else than `userId` (an administrator).
 * Never a password, a token, a hash or a device token.
 */
export interface AuthEventBase {
  at: number
  userId: string | undefined
  sessionId?: string | undefined
  address?: string | undefined
  actorId?: string | undefined
}

/**
 * A login succeeded and started session `sessionId`. `authMethods`: how the user proved who
 * they are (RFC 8176 `amr` values: `pwd`, `otp`, `hwk`, `user`, `mfa`), as the session's tokens carry them.
 */
export interface LoginSucceededEvent extends AuthEventBase {
  type: 'login.succeeded'
  userId: string
  username: string
  sessionId: string
  address: string
  authMethods: string[]
}

/** The password was right and the user has a second factor: the login waits for it (`methods` the user may use). */
export interface LoginMfaRequiredEvent extends AuthEventBase {
  type: 'login.mfa_required'
  userId: string
  username: string
  address: string
  methods: string[]
}

/**
 * A password check failed: a login, or the current password of a password change (it
 * counts toward the same lockout). `username` as typed: usernames are not secrets, and the
 * operator needs it to see who is being guessed at. `busy`: the password-check queue was full (503).
 * `refused`: the password was right but the application's onLoginSuccess refused the login.
 * `email_not_verified`: the password was right but requireVerifiedEmail is on and the
 * account's email is unverified (or missing). `mfa_code`: a wrong TOTP or recovery code at
 * the second step of a login; `passkey`: a passkey that did not verify (a second step, or a
 * passkey sign-in: `username` is empty while the passkey is unknown).
 */
export interface LoginFailedEvent extends AuthEventBase {
  type: 'login.failed'
  username: string
  reason: CredentialFailureReason | 'busy' | 'refused' | 'email_not_verified' | 'mfa_code' | 'passkey'
  address: string
}

/**
 * A password check refused with 429 before any password work: `failures` when the
 * account (or device) or the address is locked after too many failures, `in_flight` when
 * too many checks for it were already running on this instance.
 */
export interface LoginLockedOutEvent extends AuthEventBase {
  type: 'login.locked_out'
  username: string
  cause: 'failures' | 'in_flight'
  /** Seconds until the client may try again (the Retry-After it was sent). */
  retryAfter: number
  address: string
}

/** A refresh token was rotated: session `sessionId` goes on. */
export interface SessionRefreshedEvent extends AuthEventBase {
  type: 'session.refreshed'
  userId: string
  sessionId: string
}

/** A spent refresh token came back after the grace window: session `sessionId` was revoked. */
export interface RefreshTokenReuseEvent extends AuthEventBase {
  type: 'session.reuse_detected'
  userId: string
  sessionId: string
}

/** A logout ended session `sessionId` (undefined for an access token without a session, revoked alone). */
export interface LoggedOutEvent extends AuthEventBase {
  type: 'session.logged_out'
  userId: string
}

/** The user logged out everywhere (from session `sessionId`): every token of theirs is refused. */
export interface LoggedOutEverywhereEvent extends AuthEventBase {
  type: 'user.logged_out_everywhere'
  userId: string
}

/** The password was set: by the user (from session `sessionId`, at `address`) or by the application. Every session ended. */
export interface PasswordChangedEvent extends AuthEventBase {
  type: 'password.changed'
  userId: string
}

/** The password was reset by a mailed link followed from `address`: every session ended. */
export interface PasswordResetEvent extends AuthEventBase {
  type: 'password.reset'
  userId: string
  address: string
}

/** A verification link was followed from `address`: the user's email is proven to reach them. */
export interface EmailVerifiedEvent extends AuthEventBase {
  type: 'email.verified'
  userId: string
  address: string
}

/**
 * The signed-in user (session `sessionId`, at `address`) asked to change their email, and
 * confirmed it with their password: a link goes to the new address. Never the address itself.
 */
export interface EmailChangeRequestedEvent extends AuthEventBase {
  type: 'email.change_requested'
  userId: string
  address: string
}

/** The link sent to a new address was followed from `address`: the user's email is now that address, verified. */
export interface EmailChangedEvent extends AuthEventBase {
  type: 'email.changed'
  userId: string
  address: string
}

export interface UserCreatedEvent extends AuthEventBase {
  type: 'user.created'
  userId: string
  username: string
}

/**
 * The application or an administrator changed the user's email, roles or profile
 * (`accounts.updateUser`): `fields` names which, never their values. `sessionsEnded`: a
 * role was taken away, so every session of the user ended with the change.
 */
export interface UserUpdatedEvent extends AuthEventBase {
  type: 'user.updated'
  userId: string
  fields: Array<'email' | 'roles' | 'profile'>
  sessionsEnded: boolean
}

/** The account's login throttle was cleared (`accounts.unlockUser`): it may log in again at once. */
export interface UserUnlockedEvent extends AuthEventBase {
  type: 'user.unlocked'
  userId: string
}

/**
 * One session (`sessionId`) of the user was ended from a list of sessions: `by` the user
 * themselves or by an administrator (`actorId`), acting from session `actorSessionId` at `address`.
 */
export interface SessionEndedEvent extends AuthEventBase {
  type: 'session.ended'
  userId: string
  sessionId: string
  by: 'user' | 'admin'
  actorSessionId?: string | undefined
}

/** The user was disabled (every session ended); disabling a disabled user emits nothing. */
export interface UserDisabledEvent extends AuthEventBase {
  type: 'user.disabled'
  userId: string
}

/** The user was enabled again; enabling an enabled user emits nothing. */
export interface UserEnabledEvent extends AuthEventBase {
  type: 'user.enabled'
  userId: string
}

export interface UserDeletedEvent extends AuthEventBase {
  type: 'user.deleted'
  userId: string
}

/** The application ended every token of the user (`app.tokenAuth.logoutEverywhere`). */
export interface UserTokensRevokedEvent extends AuthEventBase {
  type: 'user.tokens_revoked'
  userId: string
}

/** The user (from session `sessionId`, at `address`) or the application created API key `keyId` with these scopes. */
export interface ApiKeyCreatedEvent extends AuthEventBase {
  type: 'api_key.created'
  userId: string
  keyId: string
  scopes: string[]
}

/** API key `keyId` of the user was given a new name. */
export interface ApiKeyRenamedEvent extends AuthEventBase {
  type: 'api_key.renamed'
  userId: string
  keyId: string
}

/**
 * API keys of the user were revoked: one, or all at once (never an empty list). `by` the user,
 * an administrator (`actorId`), or a password reset (the account was taken back by mail).
 */
export interface ApiKeyRevokedEvent extends AuthEventBase {
  type: 'api_key.revoked'
  userId: string
  keyIds: string[]
  by: 'user' | 'admin' | 'password_reset' | 'token_revoked'
}

/**
 * Why an API key was refused: the client always gets the same 401 (or 429 when `throttled`),
 * the operator sees this. `malformed`: not a key of this service (bad length, characters or checksum).
 */
export type ApiKeyRejectionReason = 'unknown' | 'revoked' | 'expired' | 'malformed' | 'user_disabled' | 'throttled'

/**
 * An API key was refused from `address`. `keyId` and `userId` when the key was found;
 * undefined for a key nobody has, a mistyped one, or a request refused before any lookup.
 */
export interface ApiKeyRejectedEvent extends AuthEventBase {
  type: 'api_key.rejected'
  address: string
  keyId?: string | undefined
  reason: ApiKeyRejectionReason
}

/** The user (from session `sessionId`, at `address`) turned TOTP on: the first code confirmed the authenticator. */
export interface TotpEnabledEvent extends AuthEventBase {
  type: 'mfa.totp_enabled'
  userId: string
}

/** The user turned TOTP off. */
export interface TotpDisabledEvent extends AuthEventBase {
  type: 'mfa.totp_disabled'
  userId: string
}

/** A new set of `count` recovery codes replaced the user's old ones. */
export interface RecoveryCodesGeneratedEvent extends AuthEventBase {
  type: 'mfa.recovery_codes_generated'
  userId: string
  count: number
}

/** A recovery code was spent (a login's second step, or turning TOTP off): `remaining` are left. */
export interface RecoveryCodeUsedEvent extends AuthEventBase {
  type: 'mfa.recovery_code_used'
  userId: string
  remaining: number
}

/** The user registered passkey `passkeyId`. */
export interface PasskeyAddedEvent extends AuthEventBase {
  type: 'passkey.added'
  userId: string
  passkeyId: string
}

/** Passkey `passkeyId` of the user was given a new name. */
export interface PasskeyRenamedEvent extends AuthEventBase {
  type: 'passkey.renamed'
  userId: string
  passkeyId: string
}

/** The user removed passkey `passkeyId`. */
export interface PasskeyRemovedEvent extends AuthEventBase {
  type: 'passkey.removed'
  userId: string
  passkeyId: string
}

/**
 * One typed stream for the account and session lifecycle, told apart by `type`. A new
 * feature adds its event as one more member here (an interface extending AuthEventBase
 * with a new `type` string, `noun.past_tense`) and emits it where it happens; handlers
 * that switch on `type` keep working, and a `default` branch sees the new member.
 */
export type AuthEvent =
  | LoginSucceededEvent
  | LoginMfaRequiredEvent
  | LoginFailedEvent
  | LoginLockedOutEvent
  | SessionRefreshedEvent
  | RefreshTokenReuseEvent
  | LoggedOutEvent
  | LoggedOutEverywhereEvent
  | PasswordChangedEvent
  | PasswordResetEvent
  | EmailVerifiedEvent
  | EmailChangeRequestedEvent
  | EmailChangedEvent
  | UserCreatedEvent
  | UserUpdatedEvent
  | UserDisabledEvent
  | UserEnabledEvent
  | UserDeletedEvent
  | UserTokensRevokedEvent
  | UserUnlockedEvent
  | SessionEndedEvent
  | ApiKeyCreatedEvent
  | ApiKeyRenamedEvent
  | ApiKeyRevokedEvent
  | ApiKeyRejectedEvent
  | TotpEnabledEvent
  | TotpDisabledEvent
  | RecoveryCodesGeneratedEvent
  | RecoveryCodeUsedEvent
  | PasskeyAddedEvent
  | PasskeyRenamedEvent
  | PasskeyRemovedEvent

export type AuthEventType = AuthEvent['type']

/** The event of one type: `AuthEventOf<'login.failed'>`. */
export type AuthEventOf<Type extends AuthEventType> = Extract<AuthEvent, { type: Type }>

// Omit over each member of the union, not over the union as a whole.
type WithoutTime<Event> = Event extends AuthEvent ? Omit<Event, 'at'> : never

/** How the core's parts report an event: the emitter adds the time. */
export type EmitAuthEvent = (event: WithoutTime<AuthEvent>) => void

/**
 * Where, in a request, an action came from: the session it acted from, the client address,
 * and who acted when it was not the user the action is about (an administrator).
 */
export interface ActionContext {
  sessionId?: string | undefined
  address?: string | undefined
  actorId?: string | undefined
}

/** The context's fields that are known, for an event: an unknown one is left out rather than undefined. */
export function contextFields ({ sessionId, address, actorId }: ActionContext): ActionContext {
  const known: ActionContext = {}
  if (sessionId !== undefined) known.sessionId = sessionId
  if (address !== undefined) known.address = address
  if (actorId !== undefined) known.actorId = actorId
  return known
}

/** What an event handler is: `onAuthEvent` in the options. */
export type AuthEventHandler = (event: AuthEvent) => void | Promise<void>

interface EmitterEnvironment {
  clock: Clock
  log: { error: (details: object, message: string) => void }
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** The emitter of a core without a handler: events cost nothing. */
export const ignoreAuthEvents: EmitAuthEvent = () => {}

/**
 * The one `emit` the core's parts share. The handler runs synchronously, after the action
 * succeeded or its failure was decided; whatever it throws, or an async handler rejects
 * with, is logged and never changes the outcome of the request, and an async handler is
 * never awaited.
 */
export function createAuthEventEmitter (handler: AuthEventHandler | undefined, { clock, log }: EmitterEnvironment): EmitAuthEvent {
  if (handler === undefined) return ignoreAuthEvents
  const failed = (error: unknown, type: AuthEventType): void => {
    try {
      log.error({ err: error, eventType: type }, 'onAuthEvent handler failed')
    } catch {
      // What it threw could not be serialised (a throwing getter): logging it must not fail the request, or reject unhandled.
      log.error({ eventType: type }, 'onAuthEvent handler failed (its error could not be logged)')
    }
  }
  return (event) => {
    const stamped = { ...event, at: clock.now() } as AuthEvent
    try {
      const result = handler(stamped)
      // Not awaited: the request goes on; a rejection is caught so it is never unhandled.
      // Any thenable, not only this realm's Promise: one from another realm or library would otherwise reject unhandled.
      if (isThenable(result)) Promise.resolve(result).catch((error: unknown) => { failed(error, stamped.type) })
    } catch (error) {
      failed(error, stamped.type)
    }
  }
}
