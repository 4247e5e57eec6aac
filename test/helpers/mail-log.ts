import type { MailerEnvironment } from '../../lib/mail/create-mailer.js'

/** A mailer's log that keeps every line, details included, as text a test can search. */
export function capturedLog (): { log: MailerEnvironment['log'], lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    log: {
      warn: (details, message) => { lines.push(`warn ${JSON.stringify(details)} ${message}`) },
      info: (message) => { lines.push(`info ${message}`) }
    }
  }
}

/** Links as an application configures them: a query, so that `&` must be escaped in HTML. */
export const LINKS = Object.freeze({
  passwordReset: 'https://app.example.test/reset-password?lang=en&from=mail',
  emailVerification: 'https://app.example.test/verify-email'
})

export const FROM = 'Example Support <no-reply@example.test>'

/** A token as the account flows make them: 32 random bytes, base64url. */
export const TOKEN = 'q2bm3Zk0c9yQ4n8Jx1VfW7sLr5TgHu6EoPaKdXe_-Ic'
