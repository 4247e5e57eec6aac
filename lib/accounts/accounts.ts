import { type ActionContext, contextFields, type EmitAuthEvent } from '../audit/auth-events.js'
import { type Clock, nowSeconds } from '../clock.js'
import { InvalidUserError, PasswordRejectedError, UserNotFoundError } from '../errors.js'
import type { Revocation, UserChanges, UserPort, UserRecord } from '../store/ports.js'
import type { PasswordHasher } from './password-hasher.js'
import { normalisePassword } from './password-input.js'
import { assertNewUserShape, checkEmail, checkProfile, checkRoles, userRecordFrom, type NewUser } from './user-input.js'
import { checkUserChanges, planUserUpdate, type UserProfileUpdate, type UserUpdatePlan } from './user-update.js'
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

export type { UserProfileUpdate } from './user-update.js'

// Tries of a conditional user update before the unconditional last one (see planUserUpdate).
const UPDATE_ATTEMPTS = 3

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
    if (input.emailVerified !== undefined && typeof input.emailVerified !== 'boolean') throw new InvalidUserError('emailVerified must be a boolean')
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

  /**
   * Changes email, roles or profile fields. A role added reaches live sessions at their next
   * refresh (claims are rebuilt from the stored user); a role taken away ends every session
   * of the user in the same atomic write, so no token keeps it past the revocation bound.
   * An email set to the one the user has keeps its verification; any other is unproven.
   * `context`: the administrator's session and address, for the audit event.
   */
  async updateUser (id: string, changes: UserProfileUpdate, context: ActionContext = {}): Promise<UserRecord> {
    const checked = checkUserChanges(changes, this.#parts.policy.profileFields)
    let written: { user: UserRecord, plan: UserUpdatePlan } | undefined
    // A failed condition means another write landed since the read: read again and decide again.
    // The last try has no condition (it ends the sessions on any role change), so this ends.
    for (let attempt = 1; written === undefined; attempt++) {
      const current = await this.findUserById(id)
      if (current === undefined) throw new UserNotFoundError()
      written = await this.#applyPlan(id, planUserUpdate(current, checked, attempt < UPDATE_ATTEMPTS))
      if (written === undefined && attempt === UPDATE_ATTEMPTS) throw new UserNotFoundError()
    }
    const { user, plan } = written
    if (plan.fields.length > 0) {
      this.#emit({ type: 'user.updated', userId: user.id, fields: plan.fields, sessionsEnded: plan.removesRole, ...contextFields(context) })
    }
    return user
  }

  async #applyPlan (id: string, plan: UserUpdatePlan): Promise<{ user: UserRecord, plan: UserUpdatePlan } | undefined> {
    const window = plan.removesRole ? this.#revocationWindow() : undefined
    const user = await this.#parts.users.update(id, { ...plan.update, revokeTokens: window })
    if (user === undefined) return undefined
    if (window !== undefined) this.#revoked(user, window.expiresAt)
    return { user, plan }
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

  /**
   * Disabling ends every session; enabling lets the user log in again. Either, when already
   * so, changes nothing. `context`: the administrator's session and address, for the audit event.
   */
  async setDisabled (id: string, disabled: boolean, context: ActionContext = {}): Promise<void> {
    const window = disabled ? this.#revocationWindow() : undefined
    const user = await this.#parts.users.update(id, { set: { disabled }, expect: { disabled: !disabled }, revokeTokens: window })
    if (user !== undefined) {
      if (window !== undefined) this.#revoked(user, window.expiresAt)
      this.#emit({ type: disabled ? 'user.disabled' : 'user.enabled', userId: user.id, ...contextFields(context) })
      return
    }
    // Already so (and, when disabled, its sessions ended then), or no such user.
    if (await this.#parts.users.findById(id) === undefined) throw new UserNotFoundError()
  }

  async #revokeAll (id: string): Promise<UserRecord> {
    const window = this.#revocationWindow()
    return this.#revoked(await this.#update(id, { set: {}, revokeTokens: window }), window.expiresAt)
  }

  /**
   * Ends every access and refresh token of the user, at the application's or an
   * administrator's behest (`context`: the administrator's session and address).
   */
  async revokeUserTokens (id: string, context: ActionContext = {}): Promise<void> {
    const user = await this.#revokeAll(id)
    this.#emit({ type: 'user.tokens_revoked', userId: user.id, ...contextFields(context) })
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
