import { InvalidCredentialsError } from '../errors.js'
import { normalisePassword } from '../passwords/password-input.js'
import type { UserRecord, UserStore } from '../stores/user-store.js'
import { tryNormaliseUsername } from '../users/username.js'
import type { LoginThrottle } from './login-throttle.js'

export interface PasswordAttempt {
  username: string
  password: string
  /** The client's IP address, for per-address throttling. */
  clientAddress: string
}

/** Why a login failed, for audit hooks only: the client always gets the same answer. */
export type LoginFailureReason = 'unknown_user' | 'wrong_password' | 'unusable_password' | 'disabled_user' | 'throttled'

export class LoginFailedError extends InvalidCredentialsError {
  readonly reason: LoginFailureReason
  constructor (reason: LoginFailureReason) {
    super()
    this.reason = reason
  }
}

// Throttling counts by the normalised name, or the raw one when it can never be a username.
const accountKey = (username: string): string => tryNormaliseUsername(username) ?? username

/**
 * Checks a username and password. Unknown users, wrong passwords and disabled users
 * fail alike: same error, and the same bcrypt work (a dummy hash stands in for a
 * missing user). A password bcrypt cannot take whole (over 72 bytes, NUL) is simply
 * wrong and never reaches a truncating compare.
 */
export class PasswordLogin {
  readonly #store: UserStore
  readonly #throttle: LoginThrottle

  constructor (store: UserStore, throttle: LoginThrottle) {
    this.#store = store
    this.#throttle = throttle
  }

  async #check (user: UserRecord | undefined, password: string): Promise<LoginFailureReason | undefined> {
    const hasher = this.#store.passwordHasher
    const candidate = normalisePassword(password, 1)
    if (!candidate.ok) return 'unusable_password'
    const matches = await hasher.verify(candidate.password, user?.passwordHash ?? await hasher.dummyHash())
    if (user === undefined) return 'unknown_user'
    if (!matches) return 'wrong_password'
    if (user.disabled) return 'disabled_user'
    if (hasher.needsRehash(user.passwordHash)) {
      await this.#store.replacePasswordHash(user.id, user.passwordHash, await hasher.hash(candidate.password))
    }
    return undefined
  }

  async #attempt (account: string, loadUser: () => Promise<UserRecord | undefined>, password: string, clientAddress: string): Promise<UserRecord> {
    const now = Date.now() / 1000
    // Throttle first: a locked account gets its 429 before any lookup or bcrypt work.
    const { accountHasFailures } = await this.#throttle.assertAllowed(account, clientAddress, now)
    const user = await loadUser()
    const failure = await this.#check(user, password)
    if (failure !== undefined) {
      // The time of the failure, not of the start: bcrypt may have queued for a while.
      await this.#throttle.recordFailure(account, clientAddress, Date.now() / 1000)
      throw new LoginFailedError(failure)
    }
    // A clean account has no count to clear: one write fewer on the common path.
    if (accountHasFailures) await this.#throttle.recordSuccess(account)
    return user as UserRecord
  }

  /** The user, or LoginFailedError (401), or LoginThrottledError (429). */
  async login ({ username, password, clientAddress }: PasswordAttempt): Promise<UserRecord> {
    return await this.#attempt(accountKey(username), async () => await this.#store.findUserByUsername(username), password, clientAddress)
  }

  /** Confirms the password of a signed-in user (before a password change), throttled like a login. */
  async confirmPassword (user: UserRecord, password: string, clientAddress: string): Promise<UserRecord> {
    return await this.#attempt(user.username, async () => user, password, clientAddress)
  }
}
