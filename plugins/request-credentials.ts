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

/** A cookie's value, whether or not @fastify/cookie's parsing hook ran for this request. */
export function readCookie (request: FastifyRequest, name: string): string | undefined {
  const cookies = request.cookies ?? (request.headers.cookie === undefined ? undefined : request.server.parseCookie(request.headers.cookie))
  const value = cookies?.[name]
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
    const fromCookie = cookie ? readCookie(request, cookieName) : undefined
    if (fromHeader !== undefined && fromCookie !== undefined) {
      if (prefer === undefined) throw new InvalidAuthRequestError('send the token in the Authorization header or in a cookie, not both')
      return prefer === 'header' ? { token: fromHeader, source: 'header' } : { token: fromCookie, source: 'cookie' }
    }
    if (fromHeader !== undefined) return { token: fromHeader, source: 'header' }
    if (fromCookie !== undefined) return { token: fromCookie, source: 'cookie' }
    return undefined
  }
}
