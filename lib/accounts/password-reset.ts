import { nowSeconds } from '../clock.js'
import { AccountTokenInvalidError, PasswordRejectedError } from '../errors.js'
import type { UserRecord } from '../store/ports.js'
import type { Accounts } from './accounts.js'
import { mailLink, type AccountMailParts } from './account-mail-parts.js'
import { fingerprint, looksLikeAccountToken, passwordBinding } from './account-tokens.js'
import { normaliseEmail } from './email-address.js'
import type { PasswordHasher } from './password-hasher.js'
import { normalisePassword } from './password-input.js'

export interface PasswordResetPolicy {
  /** How long a reset link works. */
  ttlSeconds: number
  /** Shortest new password, as for createUser. */
  minPasswordLength: number
}

export interface PasswordResetParts extends AccountMailParts {
  hasher: PasswordHasher
  accounts: Accounts
}

/**
 * The forgotten-password flow. A request is answered the same way whatever the address
 * (the lookup and the mail run in the background, after the answer); a reset link works
 * once, only while the password it was issued against is still the user's, and a reset
 * ends every session of the user.
 */
export class PasswordReset {
  readonly #parts: PasswordResetParts
  readonly #policy: PasswordResetPolicy

  constructor (parts: PasswordResetParts, policy: PasswordResetPolicy) {
    this.#parts = parts
    this.#policy = policy
  }

  /**
   * Counts the request (429 past the client address's allowance), then mails a reset link
   * in the background when an enabled user has this address and the address has not had
   * its mails for the window. Resolves before anything about the address is known.
   */
  async request (email: unknown, clientAddress: string): Promise<void> {
    const address = normaliseEmail(email)
    if (!await this.#parts.throttle.mayMail(clientAddress, address)) return
    this.#parts.jobs.run('password reset mail', async () => {
      const user = await this.#parts.users.findByEmail(address)
      if (user === undefined || user.disabled) return
      await mailLink(this.#parts, { purpose: 'password_reset', kind: 'passwordReset', user, to: address, binding: passwordBinding(user.passwordHash), ttlSeconds: this.#policy.ttlSeconds })
    })
  }

  /**
   * Sets a new password with a reset link's token: the user as now stored, every session
   * ended, every other reset link of theirs voided, and the email marked verified (the link
   * reached it). AccountTokenInvalidError (400) for a token unknown, expired, used, or issued
   * before the password or the email last changed; 429 past the address's failed links.
   */
  async reset (token: unknown, newPassword: unknown, clientAddress: string): Promise<UserRecord> {
    // The cheap refusal first: a weak password costs no lookup and spends no link.
    const password = normalisePassword(newPassword, this.#policy.minPasswordLength)
    if (!password.ok) throw new PasswordRejectedError(password.reason)
    const attempt = await this.#parts.throttle.reserveTokenAttempt(clientAddress)
    const { users, accountTokens, clock } = this.#parts
    if (!looksLikeAccountToken(token)) throw new AccountTokenInvalidError()
    const hash = fingerprint(token)
    const found = await accountTokens.find(hash, 'password_reset', nowSeconds(clock))
    const user = found === undefined ? undefined : await users.findById(found.userId)
    if (found === undefined || user === undefined || user.disabled || user.email !== found.email || passwordBinding(user.passwordHash) !== found.binding) {
      throw new AccountTokenInvalidError()
    }
    const passwordHash = await this.#parts.hasher.hash(password.password)
    // Of concurrent resets with one link, exactly one gets past here.
    if (await accountTokens.consume(hash, 'password_reset', nowSeconds(clock)) === undefined) throw new AccountTokenInvalidError()
    const now = Math.floor(nowSeconds(clock))
    const proven = user.emailVerifiedAt === null ? { emailVerifiedAt: now } : {}
    const updated = await this.#parts.accounts.replacePasswordHash(user.id, passwordHash, { passwordHash: user.passwordHash, email: user.email }, proven)
    // The password (or the email) changed between the lookup and here: the link was issued against the old one.
    if (updated === undefined) throw new AccountTokenInvalidError()
    await attempt.succeeded()
    await accountTokens.deleteByUser(user.id, 'password_reset')
    this.#parts.emit({ type: 'password.reset', userId: user.id, address: clientAddress })
    const to = updated.email as string
    this.#parts.jobs.run('password changed mail', async () => { await this.#parts.mailer.send('passwordChanged', to, { username: updated.username }) })
    return updated
  }
}
