import { createTransport } from 'nodemailer'
import { MailNotSentError } from '../errors.js'
import { integerInRange } from '../options/option-values.js'
import type { MailTransport } from './mail-port.js'
import { parseSmtpUrl, type SmtpServer } from './smtp-url.js'

/** How long each step of an SMTP exchange may take: a hanging server fails a send, never holds it. */
export interface SmtpTransportOptions {
  /** Milliseconds to open the connection, DNS included. Default 10 000. */
  connectionTimeoutMs?: number | undefined
  /** Milliseconds for the server's greeting (and a STARTTLS upgrade). Default 10 000. */
  greetingTimeoutMs?: number | undefined
  /** Milliseconds a connection may stay silent in the middle of a command. Default 30 000. */
  socketTimeoutMs?: number | undefined
}

const MAX_TIMEOUT_MS = 300_000

/** Nodemailer's pool options for a server; its own defaults (2 minutes to connect, 10 of silence) are far too patient for a request waiting on a mail. */
export function smtpPoolOptions (server: SmtpServer, options: SmtpTransportOptions = {}): Parameters<typeof createTransport>[0] & { pool: true } {
  const connectionTimeout = integerInRange(options.connectionTimeoutMs, 'createSmtpTransport connectionTimeoutMs', 10_000, 1, MAX_TIMEOUT_MS)
  return {
    pool: true,
    host: server.host,
    ...(server.port === undefined ? {} : { port: server.port }),
    secure: server.secure,
    requireTLS: server.requireTLS,
    ...(server.auth === undefined ? {} : { auth: server.auth }),
    connectionTimeout,
    dnsTimeout: connectionTimeout,
    greetingTimeout: integerInRange(options.greetingTimeoutMs, 'createSmtpTransport greetingTimeoutMs', 10_000, 1, MAX_TIMEOUT_MS),
    socketTimeout: integerInRange(options.socketTimeoutMs, 'createSmtpTransport socketTimeoutMs', 30_000, 1, MAX_TIMEOUT_MS),
    maxConnections: 5,
    // A server that drops connections before answering gets two more tries, not five with back-off.
    maxRequeues: 2,
    // Our messages are strings; never let a value be read as a file path or a URL to fetch.
    disableFileAccess: true,
    disableUrlAccess: true
  }
}

/**
 * The failure as our error: nodemailer's code and message (the server's reply included,
 * which says which address or command it refused), with the password cut out wherever it
 * might appear. Nothing else is kept: its error also records the last command sent.
 */
function notSent (error: unknown, server: SmtpServer): InstanceType<typeof MailNotSentError> {
  const { code, message } = error as { code?: unknown, message?: unknown }
  let reason = [code, message].filter((part) => typeof part === 'string').join(' ')
  const password = server.auth?.pass ?? ''
  if (password !== '') reason = reason.split(password).join('***').split(encodeURIComponent(password)).join('***')
  return new MailNotSentError(`SMTP ${server.description}: ${reason}`)
}

/**
 * A MailTransport sending through an SMTP server with a pool of connections (at most
 * five, reused between mails). A send that fails rejects with MailNotSentError; `close()`
 * ends the pool, letting mails already handed to a connection finish.
 */
export function createSmtpTransport (url: string, options: SmtpTransportOptions = {}): MailTransport & { close: () => Promise<void> } {
  const server = parseSmtpUrl(url, 'createSmtpTransport url')
  const transporter = createTransport(smtpPoolOptions(server, options))
  return {
    send: async ({ from, to, subject, text, html }) => {
      try {
        await transporter.sendMail({ from, to, subject, text, html })
      } catch (error) {
        throw notSent(error, server)
      }
    },
    close: async () => { transporter.close() }
  }
}
