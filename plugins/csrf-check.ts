import type { FastifyRequest } from 'fastify'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { CsrfRejectedError } from '../lib/errors.js'
import type { AccessTokenClaimsBase } from '../lib/tokens/access-tokens.js'
import type { CsrfKeys } from './csrf-keys.js'
import { refuseDuplicateCookie } from './request-credentials.js'
import type { ResolvedTokenAuthOptions } from './token-auth-options.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface CsrfProtection {
  /** The CSRF token of a session: what the readable CSRF cookie holds. */
  csrfTokenFor: (sessionId: string) => string
  /**
   * Throws CsrfRejectedError (403) unless an unsafe request comes from an allowed origin and
   * its CSRF header carries the token of `sessionId`. Safe methods pass.
   */
  checkCsrf: (request: FastifyRequest, sessionId: string) => void
  /** Throws CsrfRejectedError (403) for a request from another site or a foreign origin, whatever its method. */
  checkRequestOrigin: (request: FastifyRequest) => void
}

/** The session a CSRF token is bound to: the access token's `sid`, or its `jti` when it has none. */
export function sessionIdOf (claims: Pick<AccessTokenClaimsBase, 'sid' | 'jti'>): string {
  return claims.sid ?? claims.jti
}

function sameToken (expected: string, echoed: string): boolean {
  const left = Buffer.from(expected)
  const right = Buffer.from(echoed)
  return left.length === right.length && timingSafeEqual(left, right)
}

/** scheme://host[:port] with the default port left out, or undefined when it is no origin. */
function normalisedOrigin (text: string): string | undefined {
  if (!URL.canParse(text)) return undefined
  const origin = new URL(text).origin
  return origin === 'null' ? undefined : origin
}

const tokenOf = (key: Buffer, sessionId: string): string => createHmac('sha256', key).update(`csrf:${sessionId}`).digest('base64url')

/**
 * The defence for requests a browser may send with our cookies from elsewhere: where the
 * browser says where a request came from (Sec-Fetch-Site, Origin), it must be our own origin
 * or an allowed one, never a sibling subdomain; and an unsafe request must echo the CSRF token
 * of the session it acts in: HMAC(key, 'csrf:' + sessionId), which a cookie planted from a
 * sibling subdomain cannot pair with, since the server never trusts the cookie's value itself.
 */
export function createCsrfProtection (options: ResolvedTokenAuthOptions): CsrfProtection {
  const { headerName, allowedOrigins } = options.csrf
  const allowed = allowedOrigins === undefined ? undefined : new Set(allowedOrigins)
  const cookieName = options.cookie.names.csrf
  // Only absent when the cookie transport is off, so that nothing ever asks for a token.
  const keys = options.csrf.keys as CsrfKeys

  function checkRequestOrigin (request: FastifyRequest): void {
    const site = request.headers['sec-fetch-site']
    if (site === 'cross-site') throw new CsrfRejectedError('the request came from another site')
    const origin = request.headers.origin === undefined ? undefined : normalisedOrigin(request.headers.origin)
    if (request.headers.origin !== undefined) {
      const own = allowed === undefined ? normalisedOrigin(`${request.protocol}://${request.host}`) : undefined
      const accepted = origin !== undefined && (allowed === undefined ? origin === own : allowed.has(origin))
      if (!accepted) throw new CsrfRejectedError('the request\'s origin is not allowed')
    }
    // A sibling subdomain is same-site: trusted only when its origin is listed.
    if (site === 'same-site' && (origin === undefined || allowed?.has(origin) !== true)) {
      throw new CsrfRejectedError('the request came from another subdomain')
    }
  }

  return {
    csrfTokenFor: (sessionId) => tokenOf(keys.issuing, sessionId),
    checkRequestOrigin,
    checkCsrf (request, sessionId) {
      if (SAFE_METHODS.has(request.method)) return
      checkRequestOrigin(request)
      // Another issuer's token may name neither a session nor itself: nothing to bind a CSRF token to.
      if (typeof sessionId !== 'string' || sessionId.length === 0) throw new CsrfRejectedError('the access token names no session to bind a CSRF token to')
      refuseDuplicateCookie(request, cookieName)
      const echoed = request.headers[headerName]
      if (typeof echoed !== 'string' || !keys.accepted.some((key) => sameToken(tokenOf(key, sessionId), echoed))) {
        throw new CsrfRejectedError(`the ${headerName} header does not carry this session's CSRF token`)
      }
    }
  }
}
