import type { EmitAuthEvent } from '../audit/auth-events.js'
import { nowSeconds, type Clock } from '../clock.js'
import type { AccountMailer, MailKind, MailLinkKind } from '../mail/mail-port.js'
import type { AccountTokenPort, AccountTokenPurpose, UserPort, UserRecord } from '../store/ports.js'
import { newAccountToken } from './account-tokens.js'
import type { BackgroundJobs } from './background-jobs.js'
import type { MailThrottle } from './mail-throttle.js'

/** What the password-reset and email flows share: the store's ports, the mailer, the throttles and the background jobs. */
export interface AccountMailParts {
  users: UserPort
  accountTokens: AccountTokenPort
  mailer: AccountMailer
  throttle: MailThrottle
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
