import type { FastifyRequest } from 'fastify'
import { timingSafeEqual } from 'node:crypto'
import { CsrfRejectedError } from '../lib/errors.js'
import { readCookie } from './request-credentials.js'
import type { ResolvedTokenAuthOptions } from './token-auth-options.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

function sameSecret (a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

function originAllowed (origin: string, request: FastifyRequest, allowedOrigins: string[] | undefined): boolean {
  if (!URL.canParse(origin)) return false
  const url = new URL(origin)
  if (allowedOrigins !== undefined) return allowedOrigins.includes(url.origin)
  return url.host === request.host
}

/**
 * The defence for requests authenticated by cookie, which a browser attaches to
 * cross-site requests too: on every unsafe method the request must echo the readable
 * CSRF cookie in a header (double submit, constant-time compare), and where the browser
 * sends them, Origin must be allowed and Sec-Fetch-Site must not be cross-site.
 */
export function createCsrfCheck (options: ResolvedTokenAuthOptions): (request: FastifyRequest) => void {
  const { headerName, allowedOrigins } = options.csrf
  const cookieName = options.cookie.names.csrf
  return (request) => {
    if (SAFE_METHODS.has(request.method)) return
    if (request.headers['sec-fetch-site'] === 'cross-site') throw new CsrfRejectedError('the request came from another site')
    const origin = request.headers.origin
    if (origin !== undefined && !originAllowed(origin, request, allowedOrigins)) throw new CsrfRejectedError('the request\'s origin is not allowed')
    const expected = readCookie(request, cookieName)
    const echoed = request.headers[headerName]
    if (expected === undefined || typeof echoed !== 'string' || !sameSecret(expected, echoed)) {
      throw new CsrfRejectedError(`the ${headerName} header does not match the CSRF cookie`)
    }
  }
}
