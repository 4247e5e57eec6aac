// The public entry: the plugins, the store factories, the error classes and the
// types an application needs. Everything else is internal.
export { tokenAuth, tokenAuth as default } from './plugins/token-auth.js'
export { loginRoutes, type LoginRoutesOptions } from './plugins/login-routes.js'
export { adminRoutes, type AdminRoutesOptions } from './plugins/admin-routes.js'
export { apiKeyRoutes, type ApiKeyRoutesOptions } from './plugins/api-key-routes.js'
export { mfaRoutes, type MfaRoutesOptions } from './plugins/mfa-routes.js'
export { revocationFeed, type RevocationFeedOptions } from './plugins/revocation-feed.js'
export type { TokenAuthOptions, CookieNames } from './plugins/token-auth-options.js'
export type { TokenAuthApi, SignOptions, ApiKeyManagement, MfaManagement } from './plugins/token-auth-api.js'
export type { RoleGuardOptions } from './plugins/authenticator.js'
export type { TokenAuthClaims, AccessTokenClaims, SignableClaims, CredentialClaims } from './plugins/claims-types.js'
export type { TokenAuthRouteConfig } from './plugins/fastify-types.js'
export type { TokenAuthDecoratorNames, DefaultDecoratorNames } from './plugins/decorator-names.js'

export { createAuthCore, AuthCore, type CoreEnvironment, type CoreLogger } from './lib/core/auth-core.js'
export type { AuthCoreOptions } from './lib/core/core-options.js'
export type { IssuerOptions, IssuerJwksOptions, IssuerRevocationsOptions } from './lib/issuers/issuer-options.js'
export type { TokenProfileOptions, ClaimSource } from './lib/issuers/token-profile.js'
export { systemClock, type Clock } from './lib/clock.js'
export { createMemoryStore, type MemoryStoreOptions } from './lib/store/memory-store.js'
export { storeContractCases, type StoreContractCase } from './lib/store/contract/index.js'
export type * from './lib/store/ports.js'
export type { NewUser } from './lib/accounts/user-input.js'
export type { UserProfileUpdate } from './lib/accounts/user-update.js'
export type { UserListOptions, UserPage } from './lib/accounts/user-directory.js'
export type { UserManagement } from './lib/core/user-management.js'
export type { ApiKeyOptions } from './lib/api-keys/api-key-options.js'
export type { ApiKeySummary, CreatedApiKey, ApiKeyRevoker } from './lib/api-keys/api-keys.js'
export type { NewApiKey } from './lib/api-keys/api-key-request.js'
export type { ApiKeyIdentity } from './lib/api-keys/api-key-identity.js'
export type { ScopeGrant } from './lib/api-keys/scope-catalogue.js'
export type { MfaOptions, PasskeyOptions } from './lib/mfa/mfa-options.js'
export type { MfaContext, MfaStatus, PasskeyView, TotpEnrollment, TotpDisableProof } from './lib/mfa/second-factors.js'
export type { MfaChallenge, MfaMethod, MfaLoginStep, PasskeyLoginAttempt } from './lib/mfa/mfa-login.js'
export type { LoginOutcome, SignedIn, BeforeSession } from './lib/core/auth-core.js'
export type { SessionSummary, SessionEndContext } from './lib/sessions/user-sessions.js'
export { BcryptPasswordHasher, DEFAULT_BCRYPT_COST, type PasswordHasher } from './lib/accounts/password-hasher.js'
export type { IssuedSession } from './lib/sessions/session-service.js'
export type { PruneResult } from './lib/sessions/housekeeping.js'
export type { ThrottleOptions } from './lib/login/throttle-policy.js'
export type { LoginFailureReason } from './lib/login/login-failed-error.js'
export type { AuthEvent, AuthEventBase, AuthEventHandler, AuthEventOf, AuthEventType, CredentialFailureReason } from './lib/audit/auth-events.js'
export type * from './lib/mail/mail-port.js'
export { defaultMailTemplates } from './lib/mail/default-templates.js'
export { createSmtpTransport, type SmtpTransportOptions } from './lib/mail/smtp-transport.js'
export type { Duration } from './lib/duration.js'
export type { Algorithm } from './lib/tokens/algorithms.js'
export type { KeyDefinition, JsonWebKeySet } from './lib/tokens/key-ring.js'
export type { KeyMaterial, Jwk } from './lib/tokens/key-material.js'
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
