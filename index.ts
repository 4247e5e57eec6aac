// The public entry: the two plugins, the store factories, the error classes and the
// types an application needs. Everything else is internal.
export { tokenAuth, tokenAuth as default } from './plugins/token-auth.js'
export { loginRoutes, type LoginRoutesOptions } from './plugins/login-routes.js'
export type { TokenAuthOptions, CookieNames } from './plugins/token-auth-options.js'
export type { TokenAuthApi, SignOptions } from './plugins/token-auth-api.js'
export type { TokenAuthClaims, AccessTokenClaims, SignableClaims } from './plugins/claims-types.js'
export type {} from './plugins/fastify-types.js'

export { createMemoryStore } from './lib/store/memory-store.js'
export { createKnexStore, type KnexStore, type KnexStoreOptions } from './lib/store/knex/knex-store.js'
export { storeContractCases, type StoreContractCase } from './lib/store/contract/index.js'
// The store contract. Its UserRecord is exported as StoreUserRecord while the old
// UserStore's UserRecord (and Revocation, of the same shape) are still exported.
export type {
  AuthStore, UserPort, UserRecord as StoreUserRecord, UserChanges, UserUpdate, RefreshFamilyPort, RefreshFamily, IssuedRefreshToken,
  NewRefreshFamily, FoundRefreshToken, RevocationPort, StoredRevocation, RevocationQuery, LoginAttemptPort, AttemptCounter, AttemptWrite
} from './lib/store/ports.js'
export { createMemoryUserStore } from './lib/stores/memory-store.js'
export { createKnexUserStore, type KnexUserStore, type KnexUserStoreOptions } from './lib/stores/knex/knex-store.js'
export type { StoreOptions } from './lib/stores/store-options.js'
export type { UserStore, UserRecord, NewUser, RefreshTokenRow, StoredRefreshToken, SpendResult, LoginFailureCount, PruneResult } from './lib/stores/user-store.js'
export { BcryptPasswordHasher, DEFAULT_BCRYPT_COST, type PasswordHasher } from './lib/passwords/password-hasher.js'
export type { Revocation, RevocationKind } from './lib/sessions/revocation-list.js'
export type { IssuedSession } from './lib/sessions/session-service.js'
export type { ThrottleOptions } from './lib/sessions/login-throttle.js'
export type { LoginFailureReason } from './lib/sessions/password-login.js'
export type { Duration } from './lib/duration.js'
export type { Algorithm } from './lib/tokens/algorithms.js'
export type { KeyDefinition, JsonWebKeySet } from './lib/tokens/key-ring.js'
export type { KeyMaterial } from './lib/tokens/key-material.js'
export type { AccessTokenClaimsBase } from './lib/tokens/access-tokens.js'
export * from './lib/errors.js'

/** Paths to give pino's `redact` so that credentials never reach a log line. */
export const redactPaths: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie'
])
