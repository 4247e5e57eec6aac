import createError from '@fastify/error'

// Every error a client can cause is one of these classes: a stable `code`, the right
// status, and a message that never contains a credential. Stack traces are skipped
// for the ones an attacker can trigger at will, since they cost time and say nothing.
const NO_STACK = false

export const TokenMissingError = createError(
  'FST_TOKEN_AUTH_NO_TOKEN', 'No access token was sent', 401, Error, NO_STACK)

export const TokenInvalidError = createError<'FST_TOKEN_AUTH_INVALID_TOKEN', 401, [string]>(
  'FST_TOKEN_AUTH_INVALID_TOKEN', 'The access token is invalid: %s', 401, Error, NO_STACK)

export const TokenExpiredError = createError(
  'FST_TOKEN_AUTH_TOKEN_EXPIRED', 'The access token expired', 401, Error, NO_STACK)

export const TokenRevokedError = createError(
  'FST_TOKEN_AUTH_TOKEN_REVOKED', 'The access token was revoked', 401, Error, NO_STACK)

export const InvalidAuthRequestError = createError<'FST_TOKEN_AUTH_INVALID_REQUEST', 400, [string]>(
  'FST_TOKEN_AUTH_INVALID_REQUEST', 'Invalid authentication request: %s', 400, Error, NO_STACK)

export const InsufficientScopeError = createError<'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', 403, [string]>(
  'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE', 'The access token does not grant %s', 403, Error, NO_STACK)

export const CsrfRejectedError = createError<'FST_TOKEN_AUTH_CSRF', 403, [string]>(
  'FST_TOKEN_AUTH_CSRF', 'Cross-site request refused: %s', 403, Error, NO_STACK)

export const InvalidCredentialsError = createError(
  'FST_TOKEN_AUTH_INVALID_CREDENTIALS', 'Invalid username or password', 401, Error, NO_STACK)

export const LoginThrottledError = createError(
  'FST_TOKEN_AUTH_LOGIN_THROTTLED', 'Too many failed logins; try again later', 429, Error, NO_STACK)

export const RateLimitedError = createError(
  'FST_TOKEN_AUTH_RATE_LIMITED', 'Too many requests for this session or address; try again later', 429, Error, NO_STACK)

export const LoginBusyError = createError(
  'FST_TOKEN_AUTH_BUSY', 'Too many password checks are waiting; try again shortly', 503, Error, NO_STACK)

export const AccountTokenInvalidError = createError(
  'FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN', 'The link is invalid or has expired', 400, Error, NO_STACK)

export const EmailNotVerifiedError = createError(
  'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED', 'The account\'s email address is not verified yet: follow the link mailed to it', 403, Error, NO_STACK)

export const RefreshTokenInvalidError = createError<'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN', 401, [string]>(
  'FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN', 'The refresh token is invalid: %s', 401, Error, NO_STACK)

export const RevocationsUnavailableError = createError(
  'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE', 'Token revocations cannot be checked right now', 503, Error, NO_STACK)

export const SigningKeysUnavailableError = createError(
  'FST_TOKEN_AUTH_KEYS_UNAVAILABLE', 'The token issuer\'s signing keys cannot be fetched right now', 503, Error, NO_STACK)

export const StoreUnavailableError = createError(
  'FST_TOKEN_AUTH_STORE_UNAVAILABLE', 'The user store is unavailable', 503)

export const UsernameTakenError = createError(
  'FST_TOKEN_AUTH_USERNAME_TAKEN', 'That username is already taken', 409)

export const EmailTakenError = createError(
  'FST_TOKEN_AUTH_EMAIL_TAKEN', 'That email address belongs to another user', 409)

export const InvalidUsernameError = createError<'FST_TOKEN_AUTH_INVALID_USERNAME', 400, [string]>(
  'FST_TOKEN_AUTH_INVALID_USERNAME', 'The username is not acceptable: %s', 400)

export const PasswordRejectedError = createError<'FST_TOKEN_AUTH_PASSWORD_REJECTED', 400, [string]>(
  'FST_TOKEN_AUTH_PASSWORD_REJECTED', 'The password is not acceptable: %s', 400)

export const UserNotFoundError = createError(
  'FST_TOKEN_AUTH_USER_NOT_FOUND', 'No such user', 404)

/** An unknown, ended or expired session, or another user's: one answer for all, so ids of others' sessions cannot be probed. */
export const SessionNotFoundError = createError(
  'FST_TOKEN_AUTH_SESSION_NOT_FOUND', 'No such session', 404, Error, NO_STACK)

/**
 * An API key that is unknown, revoked, expired, mistyped, or whose user is disabled or gone:
 * one answer for all, so a caller learns nothing about which.
 */
export const InvalidApiKeyError = createError(
  'FST_TOKEN_AUTH_INVALID_API_KEY', 'The API key is invalid, revoked or expired', 401, Error, NO_STACK)

/** An API key sent to a route that accepts only access tokens (nothing was looked up). */
export const ApiKeyNotAllowedError = createError(
  'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED', 'This route does not accept API keys', 401, Error, NO_STACK)

/** An unknown or revoked key id, or another user's: one answer for all, so ids of others' keys cannot be probed. */
export const ApiKeyNotFoundError = createError(
  'FST_TOKEN_AUTH_API_KEY_NOT_FOUND', 'No such API key', 404, Error, NO_STACK)

export const ApiKeyLimitError = createError(
  'FST_TOKEN_AUTH_API_KEY_LIMIT', 'The user holds as many API keys as allowed: revoke one first', 409, Error, NO_STACK)

export const InvalidApiKeyRequestError = createError<'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST', 400, [string]>(
  'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST', 'The API key request is not acceptable: %s', 400, Error, NO_STACK)

/**
 * The pending second step of a login is unknown, expired, already used, asked for from another
 * client address, or its user changed meanwhile (disabled, signed out everywhere): log in again.
 */
export const MfaChallengeInvalidError = createError(
  'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE', 'The sign-in step is invalid or has expired; log in again', 401, Error, NO_STACK)

/** A wrong, reused or expired TOTP code or recovery code (one answer for all). */
export const MfaCodeInvalidError = createError(
  'FST_TOKEN_AUTH_INVALID_MFA_CODE', 'The code is not valid', 401, Error, NO_STACK)

/** A passkey assertion that did not verify, for whatever reason (one answer for all). */
export const PasskeyInvalidError = createError(
  'FST_TOKEN_AUTH_INVALID_PASSKEY', 'The passkey could not be verified', 401, Error, NO_STACK)

/** The action needs a session signed in with a second factor (its `amr` names `mfa`). */
export const MfaRequiredError = createError(
  'FST_TOKEN_AUTH_MFA_REQUIRED', 'This needs a session signed in with a second factor', 403, Error, NO_STACK)

export const MfaConflictError = createError<'FST_TOKEN_AUTH_MFA_CONFLICT', 409, [string]>(
  'FST_TOKEN_AUTH_MFA_CONFLICT', 'Second factor: %s', 409, Error, NO_STACK)

/** An unknown passkey id, or another user's: one answer for all. */
export const PasskeyNotFoundError = createError(
  'FST_TOKEN_AUTH_PASSKEY_NOT_FOUND', 'No such passkey', 404, Error, NO_STACK)

export const PasskeyLimitError = createError(
  'FST_TOKEN_AUTH_PASSKEY_LIMIT', 'The user holds as many passkeys as allowed: remove one first', 409, Error, NO_STACK)

export const InvalidMfaRequestError = createError<'FST_TOKEN_AUTH_INVALID_MFA_REQUEST', 400, [string]>(
  'FST_TOKEN_AUTH_INVALID_MFA_REQUEST', 'The second-factor request is not acceptable: %s', 400, Error, NO_STACK)

/** A status error that tells the client when to come back. */
export function withRetryAfter<E extends Error> (error: E, seconds: number): E & { headers: Record<string, string> } {
  return Object.assign(error, { headers: { 'retry-after': String(Math.max(1, Math.ceil(seconds))) } })
}

/** A configuration mistake, reported when the plugin or a store is created, never at request time. */
export const InvalidOptionError = createError<'FST_TOKEN_AUTH_INVALID_OPTION', 500, [string]>(
  'FST_TOKEN_AUTH_INVALID_OPTION', 'fastify-token-auth: %s', 500)

export const InvalidUserError = createError<'FST_TOKEN_AUTH_INVALID_USER', 400, [string]>(
  'FST_TOKEN_AUTH_INVALID_USER', 'The user is not acceptable: %s', 400)

/** An account mail was not rendered or not delivered. The reason never holds its link, token or an SMTP password. */
export const MailNotSentError = createError<'FST_TOKEN_AUTH_MAIL_NOT_SENT', 503, [string]>(
  'FST_TOKEN_AUTH_MAIL_NOT_SENT', 'The mail could not be sent: %s', 503)

/** A store migration that cannot run on the data as it is; the message says what to fix first. */
export const StoreMigrationBlockedError = createError<'FST_TOKEN_AUTH_MIGRATION_BLOCKED', 500, [string]>(
  'FST_TOKEN_AUTH_MIGRATION_BLOCKED', 'The store cannot be migrated: %s', 500)
