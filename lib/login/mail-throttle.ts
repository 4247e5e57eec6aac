import { nowSeconds, type Clock } from '../clock.js'
import { RateLimitedError, withRetryAfter } from '../errors.js'
import { accountTokenAddressKey, mailRecipientKey, mailRequestAddressKey } from './throttle-keys.js'
import type { LoginAttemptPort } from '../store/ports.js'
import type { AccountMailThrottle } from '../accounts/account-mail-parts.js'
import { countMailRequest, countRequest, reserveRequest } from './request-window.js'

export interface MailThrottlePolicy {
  /** Mail requests (forgotten password, resend, email change) one client address may make per window. */
  requestsPerAddress: number
  /** Mails one address may be sent per window; further requests are answered alike and send nothing. */
  mailsPerRecipient: number
  /** Failed reset and verification links one client address may present per window. */
  tokenFailuresPerAddress: number
  windowSeconds: number
}

/**
 * The throttles of the account-mail flows, over the store's attempt counters so that every
 * instance sees the same counts. A client address over its allowance gets 429 with
 * Retry-After; an email address over its own gets nothing more, while the client still sees
 * the same answer as when it is sent, so nobody can mail-bomb an address, or learn from the
 * answer whether it belongs to anyone.
 */
export class MailThrottle implements AccountMailThrottle {
  readonly #attempts: LoginAttemptPort
  readonly #policy: MailThrottlePolicy
  readonly #clock: Clock

  constructor (attempts: LoginAttemptPort, policy: MailThrottlePolicy, clock: Clock) {
    this.#attempts = attempts
    this.#policy = policy
    this.#clock = clock
  }

  #now (): number {
    return Math.floor(nowSeconds(this.#clock))
  }

  #limit (key: string, limit: number): { key: string, limit: number, windowSeconds: number } {
    return { key, limit, windowSeconds: this.#policy.windowSeconds }
  }

  /** Counts a client's request to mail `recipient`: 429 past the client's allowance, false past the recipient's. */
  async mayMail (clientAddress: string, recipient: string): Promise<boolean> {
    const address = this.#limit(mailRequestAddressKey(clientAddress), this.#policy.requestsPerAddress)
    const to = this.#limit(mailRecipientKey(recipient), this.#policy.mailsPerRecipient)
    const result = await this.#attempts.update([address.key, to.key], countMailRequest(address, to, this.#now()))
    if (!result.allowed) throw withRetryAfter(new RateLimitedError(), result.retryAfter)
    return result.send
  }

  /** Counts a mail the application asks for (no client involved): false past the recipient's allowance. */
  async mayMailFromApplication (recipient: string): Promise<boolean> {
    const to = this.#limit(mailRecipientKey(recipient), this.#policy.mailsPerRecipient)
    return (await this.#attempts.update([to.key], countRequest(to, this.#now()))).allowed
  }

  /**
   * Counts a link's use as a failure before it is looked up (429 past the allowance, like a
   * password guesser), so that concurrent guesses count too; `succeeded` takes the count back.
   */
  async reserveTokenAttempt (clientAddress: string): Promise<{ succeeded: () => Promise<void> }> {
    const limit = this.#limit(accountTokenAddressKey(clientAddress), this.#policy.tokenFailuresPerAddress)
    const reservation = await reserveRequest(this.#attempts, limit, this.#now())
    if (!reservation.allowed) throw withRetryAfter(new RateLimitedError(), reservation.retryAfter)
    return { succeeded: reservation.takeBack }
  }
}
