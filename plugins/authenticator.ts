import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { InsufficientScopeError, InvalidOptionError, TokenMissingError } from '../lib/errors.js'
import type { AccessTokens } from '../lib/tokens/access-tokens.js'
import type { AccessTokenClaims } from './claims-types.js'
import { sessionIdOf } from './csrf-check.js'
import type { PresentedToken } from './request-credentials.js'

export interface AuthenticatorParts {
  tokens: AccessTokens<AccessTokenClaims>
  readToken: (request: FastifyRequest) => PresentedToken | undefined
  /** The CSRF check of a cookie-authenticated request, against the verified token's session. */
  checkCsrf: (request: FastifyRequest, sessionId: string) => void
}

type ClaimsCheck = (claims: AccessTokenClaims) => void

function checkedNames (names: string[], what: string): string[] {
  if (names.length === 0 || !names.every((name) => typeof name === 'string' && name.length > 0 && !/\s/.test(name))) {
    throw new InvalidOptionError(`${what} needs one or more names without spaces`)
  }
  return names
}

/**
 * The request-side of the plugin: find the token, verify it, check CSRF against its
 * session when it came by cookie, set `request.user`. Hooks use the callback style: no promise per request.
 */
export function createAuthenticator ({ tokens, readToken, checkCsrf }: AuthenticatorParts): {
  verifyRequest: (request: FastifyRequest) => AccessTokenClaims
  authenticate: onRequestHookHandler
  requireRole: (...roles: string[]) => onRequestHookHandler
  requireScope: (...scopes: string[]) => onRequestHookHandler
} {
  function verifyRequest (request: FastifyRequest): AccessTokenClaims {
    const presented = readToken(request)
    if (presented === undefined) throw new TokenMissingError()
    const claims = tokens.verify(presented.token)
    if (presented.source === 'cookie') checkCsrf(request, sessionIdOf(claims))
    request.user = claims
    return claims
  }

  function guard (check: ClaimsCheck): onRequestHookHandler {
    return function (request, _reply, done) {
      try {
        // request.user is null until a hook verified the token; then there is no need to again.
        check(request.user ?? verifyRequest(request))
        done()
      } catch (error) {
        done(error as Error)
      }
    }
  }

  return {
    verifyRequest,
    authenticate: guard(() => {}),
    requireRole (...roles) {
      const wanted = checkedNames(roles, 'requireRole')
      return guard((claims) => {
        const held = (claims as { roles?: unknown }).roles
        if (!Array.isArray(held) || !wanted.some((role) => held.includes(role))) {
          throw new InsufficientScopeError(`the role ${wanted.join(' or ')}`)
        }
      })
    },
    requireScope (...scopes) {
      const wanted = checkedNames(scopes, 'requireScope')
      return guard((claims) => {
        const scope = (claims as { scope?: unknown }).scope
        const granted = typeof scope === 'string' ? scope.split(' ') : []
        if (!wanted.every((name) => granted.includes(name))) throw new InsufficientScopeError(`the scope ${wanted.join(' ')}`)
      })
    }
  }
}
