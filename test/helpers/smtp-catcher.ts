import type { AddressInfo } from 'node:net'
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser'
import { SMTPServer, type SMTPServerAddress } from 'smtp-server'

/** One mail the catcher received, parsed as a mail client would read it. */
export interface CaughtMail {
  /** What the client said at MAIL FROM and RCPT TO: where the mail really went. */
  envelope: { from: string, to: string[] }
  /** The From and To headers, as text: `Example <no-reply@example.com>`. */
  from: string
  to: string
  subject: string
  text: string
  /** The HTML part, '' when the mail had none. */
  html: string
  parsed: ParsedMail
}

export interface SmtpCatcherOptions {
  /** Refuse RCPT TO for these addresses with a 550, as a server that knows no such mailbox. */
  refuseRecipient?: (address: string) => boolean
  /** Accept AUTH with these only. Without, any credentials, or none, are accepted. */
  credentials?: { user: string, pass: string }
}

interface Waiter {
  to: string | undefined
  resolve: (mail: CaughtMail) => void
}

const addressText = (header: AddressObject | AddressObject[] | undefined): string =>
  header === undefined ? '' : ([] as AddressObject[]).concat(header).map((address) => address.text).join(', ')

/**
 * A real SMTP server on 127.0.0.1 for tests: plain text (no STARTTLS, so no certificate),
 * every mail parsed with mailparser and kept in `messages`. `nextMessage(to)` hands each
 * mail out once, in order of arrival, waiting for it if it has not come yet. Closed in the
 * test's teardown.
 */
export class SmtpCatcher {
  readonly messages: CaughtMail[] = []
  /** The user names of successful AUTH commands, in order. */
  readonly logins: string[] = []
  readonly #server: SMTPServer
  readonly #handedOut = new Set<CaughtMail>()
  #waiters: Waiter[] = []
  #closed: Promise<void> | undefined
  url = ''

  private constructor (options: SmtpCatcherOptions) {
    this.#server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      allowInsecureAuth: true,
      logger: false,
      // A client that keeps its pooled connection open must not hold the teardown for long.
      closeTimeout: 200,
      onAuth: (auth, _session, callback) => {
        const { credentials } = options
        if (credentials !== undefined && (auth.username !== credentials.user || auth.password !== credentials.pass)) {
          callback(new Error('Invalid username or password'))
          return
        }
        this.logins.push(auth.username ?? '')
        callback(null, { user: auth.username })
      },
      onRcptTo: (address: SMTPServerAddress, _session, callback) => {
        if (options.refuseRecipient?.(address.address) === true) {
          callback(Object.assign(new Error(`5.1.1 <${address.address}>: no such mailbox`), { responseCode: 550 }))
          return
        }
        callback()
      },
      onData: (stream, session, callback) => {
        simpleParser(stream).then((parsed) => {
          const envelopeFrom = session.envelope.mailFrom
          this.#receive({
            envelope: { from: envelopeFrom === false ? '' : envelopeFrom.address, to: session.envelope.rcptTo.map((rcpt) => rcpt.address) },
            from: addressText(parsed.from),
            to: addressText(parsed.to),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: parsed.html === false ? '' : parsed.html ?? '',
            parsed
          })
          callback()
        }, callback)
      }
    })
  }

  /** Starts a catcher on a free port of 127.0.0.1, closed when the test ends. */
  static async start (t: { teardown: (fn: () => Promise<void>) => void }, options: SmtpCatcherOptions = {}): Promise<SmtpCatcher> {
    const catcher = new SmtpCatcher(options)
    await new Promise<void>((resolve, reject) => {
      catcher.#server.once('error', reject)
      catcher.#server.listen(0, '127.0.0.1', resolve)
    })
    catcher.url = `smtp://127.0.0.1:${(catcher.#server.server.address() as AddressInfo).port}`
    t.teardown(async () => { await catcher.close() })
    return catcher
  }

  #receive (mail: CaughtMail): void {
    this.messages.push(mail)
    const waiter = this.#waiters.find((candidate) => this.#isFor(mail, candidate.to))
    if (waiter === undefined) return
    this.#waiters = this.#waiters.filter((candidate) => candidate !== waiter)
    this.#handedOut.add(mail)
    waiter.resolve(mail)
  }

  #isFor (mail: CaughtMail, to: string | undefined): boolean {
    return to === undefined || mail.envelope.to.some((address) => address.toLowerCase() === to.toLowerCase())
  }

  /**
   * The first mail (to that address, if given) not handed out yet, waiting for it if
   * needed; rejects when none comes within `timeoutMs` (default 5 s).
   */
  async nextMessage (to?: string, { timeoutMs = 5000 }: { timeoutMs?: number } = {}): Promise<CaughtMail> {
    const arrived = this.messages.find((mail) => !this.#handedOut.has(mail) && this.#isFor(mail, to))
    if (arrived !== undefined) {
      this.#handedOut.add(arrived)
      return arrived
    }
    return await new Promise<CaughtMail>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((candidate) => candidate !== waiter)
        const seen = this.messages.map((mail) => `${mail.envelope.to.join(', ')}: ${mail.subject}`)
        reject(new Error(`no mail${to === undefined ? '' : ` to ${to}`} within ${timeoutMs} ms; received: ${seen.length === 0 ? 'none' : seen.join(' | ')}`))
      }, timeoutMs)
      const waiter: Waiter = { to, resolve: (mail) => { clearTimeout(timer); resolve(mail) } }
      this.#waiters.push(waiter)
    })
  }

  async close (): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
    await this.#closed
  }
}
