import { nowSeconds } from '../clock.js'
import { AccountTokenInvalidError, UserNotFoundError } from '../errors.js'
import type { UserRecord } from '../store/ports.js'
import { mailLink, type AccountMailParts } from './account-mail-parts.js'
import { emailBinding, emailChangeBinding, fingerprint, looksLikeAccountToken } from './account-tokens.js'
import { normaliseEmail } from './email-address.js'

export interface EmailVerificationPolicy {
  /** How long a verification link works. */
  ttlSeconds: number
}

/** What following a verification link did. */
export interface VerifiedEmail {
  user: UserRecord
  /** True when the link was an email change's: the user's email is now the address it proved. */
  changed: boolean
}

/**
 * Proving that an address reaches its user: the link mailed to a user's own address, and
 * the link of an email change, mailed to the new address (the email changes only when it
 * is followed). A link works once, and only while the user's email is still the one it was
 * issued against (a change's link: and the password, so that a reset ends a change someone
 * else asked for).
 */
export class EmailVerification {
  readonly #parts: AccountMailParts
  readonly #policy: EmailVerificationPolicy

  constructor (parts: AccountMailParts, policy: EmailVerificationPolicy) {
    this.#parts = parts
    this.#policy = policy
  }

  async #mailVerification (user: UserRecord & { email: string }): Promise<void> {
    await mailLink(this.#parts, { purpose: 'email_verification', kind: 'emailVerification', user, to: user.email, binding: emailBinding(user.email), ttlSeconds: this.#policy.ttlSeconds })
  }

  #needsVerification (user: UserRecord | undefined): user is UserRecord & { email: string } {
    return user !== undefined && !user.disabled && user.email !== null && user.emailVerifiedAt === null
  }

  /**
   * A resend asked for by address, without signing in: counted like a reset request, and
   * answered alike whatever the address; the link goes out in the background only when an
   * enabled user has the address and it is unverified.
   */
  async request (email: unknown, clientAddress: string): Promise<void> {
    const address = normaliseEmail(email)
    if (!await this.#parts.throttle.mayMail(clientAddress, address)) return
    this.#parts.jobs.run('email verification mail', async () => {
      const user = await this.#parts.users.findByEmail(address)
      if (this.#needsVerification(user)) await this.#mailVerification(user)
    })
  }

  /**
   * The application mails a user the link to verify their address (after sign-up, say).
   * False, sending nothing, when the user has no address, it is verified already, the user
   * is disabled, or the address has had its mails for the window. UserNotFoundError (404).
   */
  async sendTo (userId: string): Promise<boolean> {
    const user = await this.#parts.users.findById(userId)
    if (user === undefined) throw new UserNotFoundError()
    if (!this.#needsVerification(user) || !await this.#parts.throttle.mayMailFromApplication(user.email)) return false
    await this.#mailVerification(user)
    return true
  }

  /**
   * The signed-in user, whose password the caller has confirmed, asks to change their email:
   * counted like a mail request (429 past the client's allowance); in the background, a link
   * goes to the new address and a notice to the old one, unless the new address belongs to
   * a user already (then nothing is sent, and the answer is the same).
   */
  async requestChange (user: UserRecord, newEmail: string, context: { clientAddress: string, sessionId?: string | undefined }): Promise<void> {
    const address = normaliseEmail(newEmail)
    const send = await this.#parts.throttle.mayMail(context.clientAddress, address)
    this.#parts.emit({ type: 'email.change_requested', userId: user.id, sessionId: context.sessionId, address: context.clientAddress })
    if (!send) return
    this.#parts.jobs.run('email change mails', async () => {
      if (await this.#parts.users.findByEmail(address) !== undefined) return
      await mailLink(this.#parts, { purpose: 'email_verification', kind: 'emailVerification', user, to: address, binding: emailChangeBinding(user.email, user.passwordHash), ttlSeconds: this.#policy.ttlSeconds })
      if (user.email !== null) await this.#parts.mailer.send('emailChangeRequested', user.email, { username: user.username, newEmail: address })
    })
  }

  /**
   * Follows a verification link: the address it was sent to becomes the user's verified
   * email, in one compare-and-set on the email it was issued against (and, for a change, the
   * password). AccountTokenInvalidError (400) for a token unknown, expired, used, or issued
   * before the email (or, for a change, the password) last changed;
   * EmailTakenError (409) when another user took the new address meanwhile; 429 past the
   * address's failed links.
   */
  async verify (token: unknown, clientAddress: string): Promise<VerifiedEmail> {
    const attempt = await this.#parts.throttle.reserveTokenAttempt(clientAddress)
    if (!looksLikeAccountToken(token)) throw new AccountTokenInvalidError()
    const { users, accountTokens, clock } = this.#parts
    const found = await accountTokens.consume(fingerprint(token), 'email_verification', nowSeconds(clock))
    const user = found === undefined ? undefined : await users.findById(found.userId)
    if (found === undefined || user === undefined || user.disabled) throw new AccountTokenInvalidError()
    // A link to another address than the user's is an email change's: bound to the password too.
    const changed = found.email !== user.email
    if (found.binding !== (changed ? emailChangeBinding(user.email, user.passwordHash) : emailBinding(user.email))) throw new AccountTokenInvalidError()
    const expect = changed ? { email: user.email, passwordHash: user.passwordHash } : { email: user.email }
    const updated = await users.update(user.id, { set: { email: found.email, emailVerifiedAt: Math.floor(nowSeconds(clock)) }, expect })
    // The email (or, for a change, the password) changed between the lookup and here: the link was issued against the old one.
    if (updated === undefined) throw new AccountTokenInvalidError()
    await attempt.succeeded()
    this.#parts.emit({ type: changed ? 'email.changed' : 'email.verified', userId: user.id, address: clientAddress })
    const oldEmail = user.email
    if (changed && oldEmail !== null) {
      this.#parts.jobs.run('email changed mail', async () => { await this.#parts.mailer.send('emailChanged', oldEmail, { username: updated.username, newEmail: found.email }) })
    }
    return { user: updated, changed }
  }
}
