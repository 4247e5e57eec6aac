import { InvalidOptionError } from '../errors.js'

// Names that can only ever reach this machine: a mail catcher in development (Mailpit, MailHog).
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** The connection an SMTP URL names, the password decoded, for nodemailer. */
export interface SmtpServer {
  host: string
  /** Undefined: nodemailer's default, 465 for smtps: and 587 for smtp:. */
  port: number | undefined
  /** TLS from the first byte (smtps:), rather than STARTTLS on a plain connection. */
  secure: boolean
  /** A plain connection must be upgraded with STARTTLS, or the mail is not sent. */
  requireTLS: boolean
  auth: { user: string, pass: string } | undefined
  /** The URL as a log may show it: no password. */
  description: string
}

function decoded (component: string, name: string): string {
  try {
    return decodeURIComponent(component)
  } catch {
    throw new InvalidOptionError(`${name} has a badly percent-encoded user name or password`)
  }
}

function requireTLSOf (url: URL, name: string): boolean {
  const names = [...url.searchParams.keys()]
  const unknown = names.find((key) => key !== 'requireTLS')
  if (unknown !== undefined) throw new InvalidOptionError(`${name} may only carry the query parameter requireTLS (true or false); pass your own transport for other settings`)
  const value = url.searchParams.get('requireTLS')
  // Over the network, STARTTLS is required by default: an attacker who strips the offer would
  // otherwise read the SMTP password and every reset link. A catcher on this machine needs none.
  if (value === null) return !LOOPBACK_HOSTS.has(url.hostname)
  if (value !== 'true' && value !== 'false') throw new InvalidOptionError(`${name}'s requireTLS must be true or false`)
  return value === 'true'
}

/**
 * Reads an SMTP URL: `smtp://user:pass@host:587` (STARTTLS) or `smtps://…:465` (TLS). Its
 * messages never repeat the URL, which may hold a password.
 */
export function parseSmtpUrl (value: unknown, name: string): SmtpServer {
  if (typeof value !== 'string') throw new InvalidOptionError(`${name} must be an smtp:// or smtps:// URL string`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionError(`${name} is not a valid URL (expected smtp://user:password@host:port or smtps://…)`)
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new InvalidOptionError(`${name} must be an smtp:// or smtps:// URL; got ${url.protocol}//…`)
  if (url.hostname === '') throw new InvalidOptionError(`${name} has no host`)
  if (url.pathname !== '' && url.pathname !== '/') throw new InvalidOptionError(`${name} must not have a path`)
  if (url.hash !== '') throw new InvalidOptionError(`${name} must not have a #fragment`)
  const secure = url.protocol === 'smtps:'
  const requireTLS = requireTLSOf(url, name)
  const user = decoded(url.username, name)
  const auth = user === '' && url.password === '' ? undefined : { user, pass: decoded(url.password, name) }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? undefined : Number(url.port),
    secure,
    requireTLS: !secure && requireTLS,
    auth,
    description: `${url.protocol}//${url.username === '' ? '' : `${url.username}@`}${url.host}`
  }
}
