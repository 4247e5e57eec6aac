import type { MailMessage, MailTransport } from '../../lib/mail/mail-port.js'

export type SentMail = MailMessage & { from: string }

/**
 * A MailTransport that keeps every message in memory, in order. `next(to)` hands out each
 * message once, waiting for it when it has not been sent yet (the flows mail in the background).
 */
export class MailOutbox implements MailTransport {
  readonly sent: SentMail[] = []
  /** Makes `send` fail (a mail server down), with this error. */
  failWith: Error | undefined
  readonly #taken = new Set<SentMail>()
  #waiters: Array<() => void> = []

  async send (message: SentMail): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith
    this.sent.push(message)
    for (const wake of this.#waiters.splice(0)) wake()
  }

  /** The next message not handed out yet (to `to`, when given), waiting up to `timeoutMs` for it. */
  async next (to?: string, { timeoutMs = 5000 } = {}): Promise<SentMail> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.sent.find((message) => !this.#taken.has(message) && (to === undefined || message.to === to))
      if (found !== undefined) {
        this.#taken.add(found)
        return found
      }
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no mail${to === undefined ? '' : ` to ${to}`} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Messages to `to`. */
  to (to: string): SentMail[] {
    return this.sent.filter((message) => message.to === to)
  }
}

/** The token of the link in a mail (`…#token=<token>`). */
export function linkTokenOf (message: Pick<MailMessage, 'text'>): string {
  const match = /#token=([A-Za-z0-9_-]{43})/.exec(message.text)
  if (match === null) throw new Error(`no link with a token in: ${message.text}`)
  return match[1]
}
