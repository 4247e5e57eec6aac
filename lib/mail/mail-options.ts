import { InvalidOptionError } from '../errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../options/known-keys.js'
import { shownValue } from '../shown-value.js'
import type { MailLinkKind, MailOptions, MailTemplate, MailTemplates, MailTransport } from './mail-port.js'
import { parseSmtpUrl } from './smtp-url.js'

const MAIL_OPTIONS: KnownKeys<MailOptions> = { transport: true, from: true, links: true, productName: true, templates: true }
const LINKS: KnownKeys<MailOptions['links']> = { passwordReset: true, emailVerification: true }
const TEMPLATES: KnownKeys<MailTemplates> = { passwordReset: true, emailVerification: true, emailChangeRequested: true, emailChanged: true, passwordChanged: true }
const MAIL_OPTION_NAMES = optionNames(MAIL_OPTIONS)
const LINK_NAMES = optionNames(LINKS) as readonly MailLinkKind[]
const TEMPLATE_NAMES = optionNames(TEMPLATES) as ReadonlyArray<keyof MailTemplates>

// Plain http is for a page served from this machine in development, where no network sees the token.
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])
const INVISIBLE = /[\p{Cc}\p{Cf}]/u
const MAX_PRODUCT_NAME_LENGTH = 100

// An address, and the same after a display name (quoted, or plain words): what one From header holds.
const ADDRESS = String.raw`[^\s@<>",;:()\[\]\\]+@[^\s@<>",;:()\[\]\\]+`
const SENDER = new RegExp(String.raw`^(?:${ADDRESS}|(?:"[^"\\]*"|[^"<>,;:@()\\]*?)\s*<${ADDRESS}>)$`, 'u')

function transportOf (value: unknown): MailOptions['transport'] {
  if (value === 'console') return value
  if (typeof value === 'string') {
    parseSmtpUrl(value, 'mail.transport')
    return value
  }
  if (typeof value !== 'object' || value === null || typeof (value as Partial<MailTransport>).send !== 'function') {
    throw new InvalidOptionError(`mail.transport must be an smtp:// or smtps:// URL, 'console', or an object with a send(message) function; got ${shownValue(value)}`)
  }
  const close = (value as Partial<MailTransport>).close
  if (close !== undefined && typeof close !== 'function') throw new InvalidOptionError('mail.transport.close must be a function when given')
  return value as MailTransport
}

function fromOf (value: unknown): string {
  if (typeof value !== 'string' || value.length > 320 || INVISIBLE.test(value) || !SENDER.test(value.trim())) {
    throw new InvalidOptionError(`mail.from must be the sender's address, alone or after a display name ('no-reply@example.com', 'Example <no-reply@example.com>'); got ${shownValue(value)}`)
  }
  return value.trim()
}

function linkOf (value: unknown, name: string): string {
  if (typeof value !== 'string') throw new InvalidOptionError(`${name} must be the absolute URL of your page; got ${shownValue(value)}`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionError(`${name} must be an absolute URL, such as https://app.example.com/reset-password; got ${shownValue(value)}`)
  }
  // The token goes in the fragment; a fragment already there would carry it somewhere else.
  if (value.includes('#')) throw new InvalidOptionError(`${name} must not have a #fragment: the link's #token= goes there`)
  if (url.username !== '' || url.password !== '') throw new InvalidOptionError(`${name} must not carry a user name or password`)
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return url.href
  throw new InvalidOptionError(`${name} must be an https:// URL (plain http only to localhost, 127.0.0.1 or [::1], in development); got ${url.protocol}//${url.host}`)
}

function linksOf (value: unknown): MailOptions['links'] {
  if (value === undefined) throw new InvalidOptionError('mail.links is required: { passwordReset, emailVerification }, the URLs of your pages that read #token=')
  refuseUnknownKeys(value, LINK_NAMES, { path: 'mail.links' })
  const links = value as Record<string, unknown>
  const resolved = Object.fromEntries(LINK_NAMES.map((kind) => [kind, linkOf(links[kind], `mail.links.${kind}`)]))
  return Object.freeze(resolved as MailOptions['links'])
}

function productNameOf (value: unknown): string | undefined {
  if (value === undefined) return undefined
  // It goes into subjects: one line, and short enough to leave room for the rest.
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_PRODUCT_NAME_LENGTH || INVISIBLE.test(value)) {
    throw new InvalidOptionError(`mail.productName must be a non-empty line of at most ${MAX_PRODUCT_NAME_LENGTH} characters; got ${shownValue(value)}`)
  }
  return value
}

function templatesOf (value: unknown): Partial<MailTemplates> {
  if (value === undefined) return {}
  refuseUnknownKeys(value, TEMPLATE_NAMES, { path: 'mail.templates' })
  const given = value as Record<string, unknown>
  const templates: Partial<Record<keyof MailTemplates, MailTemplate>> = {}
  for (const kind of TEMPLATE_NAMES) {
    const template = given[kind]
    if (template === undefined) continue
    if (typeof template !== 'function') throw new InvalidOptionError(`mail.templates.${kind} must be a function (context) => ({ subject, text, html }); got ${shownValue(template)}`)
    templates[kind] = template as MailTemplate
  }
  return Object.freeze(templates)
}

/**
 * Checks the `mail` option once, at startup, naming the option at fault in every refusal.
 * Never echoes an SMTP URL, which may hold a password.
 */
export function resolveMailOptions (options: unknown): MailOptions {
  refuseUnknownKeys(options, MAIL_OPTION_NAMES, { path: 'mail' })
  const values = options as Record<string, unknown>
  const productName = productNameOf(values.productName)
  return Object.freeze({
    transport: transportOf(values.transport),
    from: fromOf(values.from),
    links: linksOf(values.links),
    ...(productName === undefined ? {} : { productName }),
    templates: templatesOf(values.templates)
  })
}
