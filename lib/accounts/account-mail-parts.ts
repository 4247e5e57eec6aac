import type { EmitAuthEvent } from '../audit/auth-events.js'
import { nowSeconds, type Clock } from '../clock.js'
import type { AccountMailer, MailKind, MailLinkKind } from '../mail/mail-port.js'
import type { AccountTokenPort, AccountTokenPurpose, UserPort, UserRecord } from '../store/ports.js'
import { newAccountToken } from './account-tokens.js'
import type { BackgroundJobs } from './background-jobs.js'

/** The throttles of the mail flows (lib/login/mail-throttle.ts implements them over the store's counters). */
export interface AccountMailThrottle {
  /** Counts a client's request to mail `recipient`: 429 past the client's allowance, false past the recipient's. */
  mayMail: (clientAddress: string, recipient: string) => Promise<boolean>
  /** Counts a mail the application asks for: false past the recipient's allowance. */
  mayMailFromApplication: (recipient: string) => Promise<boolean>
  /** Counts a link's use as a failure before it is looked up (429 past the allowance); `succeeded` takes it back. */
  reserveTokenAttempt: (clientAddress: string) => Promise<{ succeeded: () => Promise<void> }>
}

/** What the password-reset and email flows share: the store's ports, the mailer, the throttles and the background jobs. */
export interface AccountMailParts {
  users: UserPort
  accountTokens: AccountTokenPort
  mailer: AccountMailer
  throttle: AccountMailThrottle
  jobs: BackgroundJobs
  clock: Clock
  emit: EmitAuthEvent
}

export interface LinkMail {
  purpose: AccountTokenPurpose
  kind: MailKind & MailLinkKind
  user: UserRecord
  /** The address the link goes to (and, for a verification, proves). */
  to: string
  binding: string
  ttlSeconds: number
}

/** Stores a new single-use token and mails its link; the token itself lives only in the mail. */
export async function mailLink (parts: AccountMailParts, { purpose, kind, user, to, binding, ttlSeconds }: LinkMail): Promise<void> {
  const { token, record } = newAccountToken({ purpose, userId: user.id, email: to, binding, now: nowSeconds(parts.clock), ttlSeconds })
  await parts.accountTokens.insert(record)
  await parts.mailer.send(kind, to, { username: user.username, link: parts.mailer.link(kind, token), expiresInMinutes: Math.round(ttlSeconds / 60) })
}
