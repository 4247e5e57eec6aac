import type { onRequestHookHandler } from 'fastify'
import type { RoleGuardArguments } from './authenticator.js'
import type { AccessTokenClaims } from './claims-types.js'
import type { DecoratorNames } from './decorator-names.js'
import type { TokenAuthApi } from './token-auth-api.js'

/** The instance decorators, keyed by their default names (their roles). */
interface InstanceDecorationsByRole {
  /** Signing, verification, sessions and the key set. */
  tokenAuth: TokenAuthApi
  /** onRequest hook: 401 unless the request carries a valid access token; sets `request.user`. */
  authenticate: onRequestHookHandler
  /**
   * onRequest hook: authenticates, then 403 unless the token's `roles` include one of these;
   * with a trailing `{ mfa: true }`, also 403 unless its session was signed in with a second factor.
   */
  requireRole: (...roles: RoleGuardArguments) => onRequestHookHandler
  /** onRequest hook: authenticates, then 403 unless the token's `scope` includes all of these. */
  requireScope: (...scopes: string[]) => onRequestHookHandler
  /**
   * onRequest hook: authenticates, then 403 (FST_TOKEN_AUTH_MFA_REQUIRED) unless the token's
   * session was signed in with a second factor (its `amr` holds 'mfa'). API keys never pass.
   */
  requireMfa: onRequestHookHandler
}

/** The request decorators, keyed by their default names (their roles). */
interface RequestDecorationsByRole {
  /** The verified access-token claims; set by `authenticate` or `verifyToken()`, null before. */
  user: AccessTokenClaims
  /** Verifies the request's access token, sets `request.user` and returns the claims. */
  verifyToken: () => Promise<AccessTokenClaims>
}

/**
 * The decorators under the names in effect (TokenAuthDecoratorNames): an application that
 * renamed `user` to `principal` gets `request.principal`, and no `request.user` from us.
 */
export type TokenAuthInstanceDecorations = { [Role in keyof InstanceDecorationsByRole as DecoratorNames[Role]]: InstanceDecorationsByRole[Role] }
export type TokenAuthRequestDecorations = { [Role in keyof RequestDecorationsByRole as DecoratorNames[Role]]: RequestDecorationsByRole[Role] }

/** What a route's `config` tells tokenAuth. */
export interface TokenAuthRouteConfig {
  /**
   * Whether the route accepts API keys (`Authorization: Bearer <key>`): true accepts them,
   * false refuses them (401); absent, the `apiKeys.allowByDefault` option decides (default: refused).
   */
  allowApiKeys?: boolean | undefined
}

declare module 'fastify' {
  interface FastifyInstance extends TokenAuthInstanceDecorations {}
  interface FastifyRequest extends TokenAuthRequestDecorations {}
  interface FastifyContextConfig extends TokenAuthRouteConfig {}
}
