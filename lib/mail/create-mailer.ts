import { MailNotSentError } from '../errors.js'
import { createConsoleTransport } from './console-transport.js'
import { defaultMailTemplates } from './default-templates.js'
import type { AccountMailer, MailContext, MailKind, MailMessage, MailOptions, MailTemplate, MailTransport } from './mail-port.js'
import { createSmtpTransport } from './smtp-transport.js'
import { parseSmtpUrl } from './smtp-url.js'

export { resolveMailOptions } from './mail-options.js'

/** What the mailer takes from its surroundings. */
export interface MailerEnvironment {
  /** The product name when the options name none: the realm. */
  productName: string
  log: {
    warn: (details: Record<string, unknown>, message: string) => void
    info: (message: string) => void
  }
}

function transportOf (transport: MailOptions['transport'], log: MailerEnvironment['log']): MailTransport {
  if (transport === 'console') {
    log.warn({ mailTransport: 'console' },
      "mail.transport is 'console': account mails, with their reset and verification links, are printed to stderr instead of sent. For development only.")
    return createConsoleTransport()
  }
  if (typeof transport === 'string') {
    log.info(`mail: sending through SMTP at ${parseSmtpUrl(transport, 'mail.transport').description}, pooled`)
    return createSmtpTransport(transport)
  }
  log.info("mail: sending through the application's transport")
  return transport
}

function messageOf (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** A reason with the context's link, and its token alone, cut out: an error may be logged. */
function withoutLink (reason: string, link: string | undefined): string {
  if (link === undefined) return reason
  const token = link.split('#token=')[1]
  return [link, token].reduce((text, secret) => secret === undefined || secret === '' ? text : text.split(secret).join('[link]'), reason)
}

function isOneLine (value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '' && !/[\r\n]/.test(value)
}

/** Runs a template, its own bugs turned into a rejected send rather than a crash. */
function render (template: MailTemplate, kind: MailKind, context: MailContext): Omit<MailMessage, 'to'> {
  let rendered: Partial<Record<keyof MailMessage, unknown>> | undefined
  try {
    rendered = template(context)
  } catch (error) {
    throw new MailNotSentError(`the ${kind} template threw: ${withoutLink(messageOf(error), context.link)}`)
  }
  const { subject, text, html } = rendered ?? {}
  if (!isOneLine(subject) || typeof text !== 'string' || typeof html !== 'string') {
    throw new MailNotSentError(`the ${kind} template must return { subject, text, html } at once: strings, the subject one non-empty line`)
  }
  return { subject, text, html }
}

/**
 * The mailer the account flows hold, over options checked by resolveMailOptions: links
 * with the token in their fragment, templates (the defaults unless replaced), and the
 * transport. Says once, in the log, where mails go; never its password.
 */
export function createAccountMailer (options: MailOptions, environment: MailerEnvironment): AccountMailer {
  const productName = options.productName ?? environment.productName
  const templates = { ...defaultMailTemplates, ...options.templates }
  const transport = transportOf(options.transport, environment.log)
  return {
    // In the fragment, the token never reaches a server's access log or a Referer header.
    link: (kind, token) => `${options.links[kind]}#token=${encodeURIComponent(token)}`,
    send: async (kind, to, context) => {
      const message = render(templates[kind], kind, { ...context, productName })
      try {
        await transport.send({ from: options.from, to, ...message })
      } catch (error) {
        if (error instanceof MailNotSentError) throw error
        throw new MailNotSentError(`the transport failed: ${withoutLink(messageOf(error), context.link)}`)
      }
    },
    close: async () => { await transport.close?.() }
  }
}
