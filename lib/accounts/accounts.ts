import { type ActionContext, type EmitAuthEvent } from '../audit/auth-events.js'
import { type Clock, nowSeconds } from '../clock.js'
import { PasswordRejectedError, UserNotFoundError } from '../errors.js'
import type { Revocation, UserChanges, UserPort, UserRecord } from '../store/ports.js'
import type { PasswordHasher } from './password-hasher.js'
import { normalisePassword } from './password-input.js'
import { assertNewUserShape, checkEmail, checkProfile, checkRoles, userRecordFrom, type NewUser } from './user-input.js'
import { normaliseUsername, tryNormaliseUsername } from './username.js'

export interface AccountsPolicy {
  /** Shortest password createUser and changePassword accept, in characters. */
  minPasswordLength: number
  /** Application fields a user may carry (the knex store's profile columns). */
  profileFields: readonly string[]
  /** How long a user-wide revocation must be kept: the longest token lifetime plus clock tolerance. */
  userRevocationSeconds: number
}

export interface AccountsParts {
  users: UserPort
  hasher: PasswordHasher
  clock: Clock
  policy: AccountsPolicy
  /** Told about each user-wide revocation once it is stored, so this instance applies it at once. */
  onRevocation: (revocation: Revocation) => void
  /** Told of each change to an account once it is stored. */
  emit: EmitAuthEvent
}

/** What an application may change about a user without ending their sessions. */
export interface UserProfileUpdate {
  email?: string | null | undefined
  roles?: string[] | undefined
  profile?: Record<string, unknown> | undefined
}

/**
 * The account lifecycle, written once over the users port: create, look up, change the
 * password, disable, delete, log out everywhere. Every change that must end a user's
 * sessions is one atomic `users.update(…, { revokeTokens })`, so no refresh racing it
 * can leave a live session behind.
 */
export class Accounts {
  readonly #parts: AccountsParts
  readonly #emit: EmitAuthEvent

  constructor (parts: AccountsParts) {
    this.#parts = parts
    this.#emit = parts.emit
  }

  async #hashNewPassword (password: unknown): Promise<string> {
    const check = normalisePassword(password, this.#parts.policy.minPasswordLength)
    if (!check.ok) throw new PasswordRejectedError(check.reason)
    return await this.#parts.hasher.hash(check.password)
  }

  #revocationWindow (): { now: number, expiresAt: number } {
    const now = nowSeconds(this.#parts.clock)
    return { now, expiresAt: Math.ceil(now + this.#parts.policy.userRevocationSeconds) }
  }

  #revoked (user: UserRecord, expiresAt: number): UserRecord {
    this.#parts.onRevocation({ kind: 'user', subject: user.id, version: user.tokenVersion, expiresAt })
    return user
  }

  async createUser (input: NewUser): Promise<UserRecord> {
    assertNewUserShape(input)
    // Validate the cheap fields first: a bad username costs no bcrypt work.
    normaliseUsername(input.username)
    checkEmail(input.email)
    checkRoles(input.roles ?? [])
    checkProfile(input.profile ?? {}, this.#parts.policy.profileFields)
    const passwordHash = await this.#hashNewPassword(input.password)
    const user = userRecordFrom(input, passwordHash, this.#parts.policy.profileFields, nowSeconds(this.#parts.clock))
    await this.#parts.users.insert(user)
    this.#emit({ type: 'user.created', userId: user.id, username: user.username })
    return user
  }

  async findUserById (id: string): Promise<UserRecord | undefined> {
    return typeof id === 'string' ? await this.#parts.users.findById(id) : undefined
  }

  /** Any spelling of the username ("Alice", "ALICE"); undefined for one that can never exist. */
  async findUserByUsername (username: string): Promise<UserRecord | undefined> {
    const normalised = tryNormaliseUsername(username)
    return normalised === undefined ? undefined : await this.#parts.users.findByUsername(normalised)
  }

  async #update (id: string, update: Parameters<UserPort['update']>[1]): Promise<UserRecord> {
    const user = await this.#parts.users.update(id, update)
    if (user === undefined) throw new UserNotFoundError()
    return user
  }

  /** Changes email, roles or profile fields. Live tokens keep their claims until they expire or refresh. */
  async updateUser (id: string, changes: UserProfileUpdate): Promise<UserRecord> {
    const set: UserChanges = {}
    if (changes.email !== undefined) {
      set.email = checkEmail(changes.email)
      // An address set by the application is unproven until the user follows a link sent to it.
      set.emailVerifiedAt = null
    }
    if (changes.roles !== undefined) set.roles = checkRoles(changes.roles)
    if (changes.profile !== undefined) set.profile = checkProfile(changes.profile, this.#parts.policy.profileFields)
    const user = await this.#update(id, { set })
    // A changed email or role is what an account takeover or a privilege grant looks like.
    const fields = (['email', 'roles', 'profile'] as const).filter((field) => field in set)
    if (fields.length > 0) this.#emit({ type: 'user.updated', userId: user.id, fields })
    return user
  }

  /**
   * Sets a new password (same policy as createUser) and ends every session of the user.
   * `context`: the session and address a signed-in user changed it from, for the audit event.
   */
  async changePassword (id: string, newPassword: string, context: ActionContext = {}): Promise<UserRecord> {
    const passwordHash = await this.#hashNewPassword(newPassword)
    const window = this.#revocationWindow()
    const user = this.#revoked(await this.#update(id, { set: { passwordHash }, revokeTokens: window }), window.expiresAt)
    this.#emit({ type: 'password.changed', userId: user.id, sessionId: context.sessionId, address: context.address })
    return user
  }

  /**
   * Sets a password hash made by the caller (a reset checks its link before any bcrypt work)
   * and ends every session, in one atomic step, only while the user's password hash and
   * email are still those in `expect`; `set` may add fields. Undefined when either changed
   * meanwhile (or no such user): nothing was written.
   */
  async replacePasswordHash (id: string, passwordHash: string, expect: { passwordHash: string, email: string | null }, set: UserChanges = {}): Promise<UserRecord | undefined> {
    const window = this.#revocationWindow()
    const user = await this.#parts.users.update(id, { set: { ...set, passwordHash }, expect, revokeTokens: window })
    return user === undefined ? undefined : this.#revoked(user, window.expiresAt)
  }

  /** Disabling ends every session; enabling lets the user log in again. Either, when already so, changes nothing. */
  async setDisabled (id: string, disabled: boolean): Promise<void> {
    const window = disabled ? this.#revocationWindow() : undefined
    const user = await this.#parts.users.update(id, { set: { disabled }, expect: { disabled: !disabled }, revokeTokens: window })
    if (user !== undefined) {
      if (window !== undefined) this.#revoked(user, window.expiresAt)
      this.#emit({ type: disabled ? 'user.disabled' : 'user.enabled', userId: user.id })
      return
    }
    // Already so (and, when disabled, its sessions ended then), or no such user.
    if (await this.#parts.users.findById(id) === undefined) throw new UserNotFoundError()
  }

  async #revokeAll (id: string): Promise<UserRecord> {
    const window = this.#revocationWindow()
    return this.#revoked(await this.#update(id, { set: {}, revokeTokens: window }), window.expiresAt)
  }

  /** Ends every access and refresh token of the user, at the application's behest. */
  async revokeUserTokens (id: string): Promise<void> {
    const user = await this.#revokeAll(id)
    this.#emit({ type: 'user.tokens_revoked', userId: user.id })
  }

  /** The user logs out everywhere, from the session and address in `context`: every token of theirs ends. */
  async logOutEverywhere (id: string, context: ActionContext): Promise<void> {
    const user = await this.#revokeAll(id)
    this.#emit({ type: 'user.logged_out_everywhere', userId: user.id, sessionId: context.sessionId, address: context.address })
  }

  async deleteUser (id: string): Promise<void> {
    const window = this.#revocationWindow()
    const user = await this.#parts.users.findById(id)
    if (user === undefined || !await this.#parts.users.delete(id, window)) throw new UserNotFoundError()
    this.#parts.onRevocation({ kind: 'user', subject: id, version: user.tokenVersion + 1, expiresAt: window.expiresAt })
    this.#emit({ type: 'user.deleted', userId: id })
  }
}
