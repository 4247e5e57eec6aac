import type { onRequestHookHandler } from 'fastify'
import type { AccessTokenClaims } from './claims-types.js'
import type { TokenAuthApi } from './token-auth-api.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Signing, verification, sessions and the key set. */
    tokenAuth: TokenAuthApi
    /** onRequest hook: 401 unless the request carries a valid access token; sets `request.user`. */
    authenticate: onRequestHookHandler
    /** onRequest hook: authenticates, then 403 unless the token's `roles` include one of these. */
    requireRole: (...roles: string[]) => onRequestHookHandler
    /** onRequest hook: authenticates, then 403 unless the token's `scope` includes all of these. */
    requireScope: (...scopes: string[]) => onRequestHookHandler
  }
  interface FastifyRequest {
    /** The verified access-token claims; set by `authenticate` or `verifyToken()`, null before. */
    user: AccessTokenClaims
    /** Verifies the request's access token, sets `request.user` and returns the claims. */
    verifyToken: () => Promise<AccessTokenClaims>
  }
}
