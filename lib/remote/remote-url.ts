import { InvalidOptionError } from '../errors.js'
import { shownValue } from '../shown-value.js'

// Names that can only ever reach this machine: plain http to them crosses no network.
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * Checks a URL this package will fetch keys or revocations from: https, or http to a
 * loopback address when `allowInsecureLocalhost` says so (a local issuer in development
 * and tests). No credentials in the URL, no fragment: both would be leaked or ignored.
 */
export function checkRemoteUrl (value: unknown, name: string, allowInsecureLocalhost: boolean): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) throw new InvalidOptionError(`${name} must be a URL string; got ${shownValue(value)}`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionError(`${name} is not a valid URL; got ${shownValue(String(value))}`)
  }
  if (url.username !== '' || url.password !== '') throw new InvalidOptionError(`${name} must not carry a user name or password`)
  if (url.hash !== '') throw new InvalidOptionError(`${name} must not have a #fragment`)
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) {
    if (allowInsecureLocalhost) return url
    throw new InvalidOptionError(`${name} is plain http: set allowInsecureLocalhost: true to fetch from ${url.host} without TLS (development and tests only)`)
  }
  throw new InvalidOptionError(`${name} must be an https:// URL (plain http only to localhost, with allowInsecureLocalhost); got ${url.protocol}//${url.host}`)
}
