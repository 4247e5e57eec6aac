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

/**
 * What tells a request made with an API key from one made with an access token: both put
 * their claims in `request.user`, and `requireScope` / `requireRole` read them alike.
 */
export interface CredentialClaims {
  /** 'api_key' when the request came with an API key; absent for an access token. */
  authMethod?: 'api_key' | undefined
  /** The API key's id (also its `jti`), when the request came with one. */
  keyId?: string | undefined
}

/**
 * What `request.user` holds: the registered claims plus the application's. With an API key:
 * `sub` (the user), `roles` and the application's claims for the user as they are now, `scope`
 * (the key's scopes the user's roles still grant), `authMethod: 'api_key'`, `keyId`, `jti` (the
 * key id), `iat` (its creation) and `exp`, absent for a key that never expires.
 */
export type AccessTokenClaims = AccessTokenClaimsBase & CredentialClaims & TokenAuthClaims

/** What `app.tokenAuth.sign()` takes: `sub` plus the application claims. */
export type SignableClaims = { sub: string } & TokenAuthClaims & Record<string, unknown>
