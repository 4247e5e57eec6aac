import type { FastifyInstance } from 'fastify'
import type { AuthCore } from '../lib/core/auth-core.js'
import type { Authenticator } from './authenticator.js'
import type { AccessTokenClaims } from './claims-types.js'
import type { CsrfProtection } from './csrf-check.js'
import type { SessionCookies } from './session-cookies.js'
import type { ResolvedTokenAuthOptions } from './token-auth-options.js'

/**
 * What the route plugins need from tokenAuth beyond its public API: the core and the
 * request-side pieces. Reached through a symbol, so applications see none of it.
 */
export interface CoreHandle {
  core: AuthCore<AccessTokenClaims>
  options: ResolvedTokenAuthOptions
  cookies: SessionCookies
  csrf: CsrfProtection
  /**
   * The request hooks and the claims of a request, whatever names `decorators` gave them:
   * route plugins use these rather than `app.authenticate` or `request.user`.
   */
  authenticator: Authenticator
}

export const kCoreHandle = Symbol.for('fastify-token-auth.core')

export function coreHandleOf (app: FastifyInstance): CoreHandle {
  return (app as unknown as Record<symbol, CoreHandle>)[kCoreHandle]
}
