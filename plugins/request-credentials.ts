import { parse } from 'cookie'
import type { FastifyRequest } from 'fastify'
import { InvalidAuthRequestError } from '../lib/errors.js'
import type { ResolvedTokenAuthOptions } from './token-auth-options.js'

export type TokenSource = 'header' | 'cookie'

export interface PresentedToken {
  token: string
  source: TokenSource
}

// RFC 6750 §2.1 b64token, the only syntax a Bearer credential may have.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

const escapedForRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const cookiePatterns = new Map<string, RegExp>()

function namedCookiePattern (name: string): RegExp {
  let pattern = cookiePatterns.get(name)
  if (pattern === undefined) {
    pattern = new RegExp(`(?:^|;)[ \\t]*${escapedForRegExp(name)}[ \\t]*=`, 'g')
    cookiePatterns.set(name, pattern)
  }
  return pattern
}

/**
 * Throws a 400 when the Cookie header carries `name` twice. A sibling subdomain can plant a
 * cookie of our name with `Domain=` and a longer path; the browser then sends both, and the
 * cookie parser would silently keep one of them, maybe the planted one.
 */
export function refuseDuplicateCookie (request: FastifyRequest, name: string): void {
  const header = request.headers.cookie
  // Cheap first: a name found once, or not at all, cannot be a duplicate.
  if (header === undefined || header.indexOf(name) === header.lastIndexOf(name)) return
  if ((header.match(namedCookiePattern(name)) ?? []).length > 1) {
    throw new InvalidAuthRequestError(`the request carries the cookie ${name} twice`)
  }
}

/** Where a request keeps its parsed Cookie header, so that one request parses it once. */
export const kParsedCookies = Symbol('fastify-token-auth.parsedCookies')

type Cookies = Record<string, string | undefined>

function parsedCookies (request: FastifyRequest, header: string): Cookies {
  const holder = request as unknown as Record<symbol, Cookies | null>
  holder[kParsedCookies] ??= parse(header)
  return holder[kParsedCookies]
}

/**
 * One of our cookies' value, read from the Cookie header by ourselves (the application may
 * or may not use @fastify/cookie); a 400 when the request carries it twice. A header that
 * does not mention the name is not parsed at all.
 */
export function readCookie (request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie
  if (header === undefined || !header.includes(name)) return undefined
  refuseDuplicateCookie(request, name)
  const value = parsedCookies(request, header)[name]
  return value === undefined || value === '' ? undefined : value
}

function headerToken (authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined
  const space = authorization.indexOf(' ')
  const scheme = space === -1 ? authorization : authorization.slice(0, space)
  // Other schemes (Basic, Digest, …) are simply not tokens for us.
  if (scheme.toLowerCase() !== 'bearer') return undefined
  const value = space === -1 ? '' : authorization.slice(space + 1).trim()
  if (value === '') throw new InvalidAuthRequestError('the Bearer credential is empty')
  if (!B64TOKEN.test(value)) throw new InvalidAuthRequestError('the Bearer credential is malformed')
  return value
}

/**
 * Finds the access token a request carries: `Authorization: Bearer` or the access-token
 * cookie, never the query string. Two at once is a 400 unless a preference is configured.
 */
export function createTokenReader (options: ResolvedTokenAuthOptions): (request: FastifyRequest) => PresentedToken | undefined {
  const { header, cookie, prefer } = options.transport
  const cookieName = options.cookie.names.accessToken
  return (request) => {
    const fromHeader = header ? headerToken(request.headers.authorization) : undefined
    // A preferred Bearer token makes the cookie irrelevant: the Cookie header is not even parsed.
    if (fromHeader !== undefined && prefer === 'header') return { token: fromHeader, source: 'header' }
    const fromCookie = cookie ? readCookie(request, cookieName) : undefined
    if (fromHeader !== undefined && fromCookie !== undefined) {
      if (prefer === undefined) throw new InvalidAuthRequestError('send the token in the Authorization header or in a cookie, not both')
      return { token: fromCookie, source: 'cookie' }
    }
    if (fromHeader !== undefined) return { token: fromHeader, source: 'header' }
    if (fromCookie !== undefined) return { token: fromCookie, source: 'cookie' }
    return undefined
  }
}
