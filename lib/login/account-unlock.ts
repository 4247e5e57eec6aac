import { contextFields, type ActionContext, type EmitAuthEvent } from '../audit/auth-events.js'
import { UserNotFoundError } from '../errors.js'
import type { LoginAttemptPort, UserPort } from '../store/ports.js'
import { accountKey } from './throttle-keys.js'

/**
 * Lifts an account's login lockout. Only the account's own counter can be found: device
 * counters are keyed by a nonce only the browser holds and address counters are shared
 * with other users, so both are left to expire by themselves.
 */
export class AccountUnlock {
  readonly #users: UserPort
  readonly #attempts: LoginAttemptPort
  readonly #emit: EmitAuthEvent

  constructor (parts: { users: UserPort, attempts: LoginAttemptPort, emit: EmitAuthEvent }) {
    this.#users = parts.users
    this.#attempts = parts.attempts
    this.#emit = parts.emit
  }

  /** Clears the account's failed-login count and lockout; `context`: who did it, for the audit event. */
  async unlockUser (id: string, context: ActionContext = {}): Promise<void> {
    const user = typeof id === 'string' ? await this.#users.findById(id) : undefined
    if (user === undefined) throw new UserNotFoundError()
    // The key every spelling of the username is counted on at login and at a password change.
    const key = accountKey(user.username)
    await this.#attempts.update([key], () => ({ write: [], remove: [key], result: undefined }))
    this.#emit({ type: 'user.unlocked', userId: user.id, ...contextFields(context) })
  }
}
