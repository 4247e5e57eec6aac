import type { AccessTokenClaimsBase } from '../lib/tokens/access-tokens.js'

/**
 * Application claims, merged by the application:
 *
 *     declare module 'fastify-token-auth' {
 *       interface TokenAuthClaims { roles: string[], tenant: string }
 *     }
 *
 * They then type `request.user`, `app.tokenAuth.sign()` and `app.tokenAuth.verify()`.
 */
export interface TokenAuthClaims {}

/** What `request.user` holds: the registered claims plus the application's. */
export type AccessTokenClaims = AccessTokenClaimsBase & TokenAuthClaims

/** What `app.tokenAuth.sign()` takes: `sub` plus the application claims. */
export type SignableClaims = { sub: string } & TokenAuthClaims & Record<string, unknown>
