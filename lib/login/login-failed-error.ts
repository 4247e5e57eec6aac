import type { CredentialFailureReason } from '../audit/auth-events.js'
import { InvalidCredentialsError } from '../errors.js'

// Defined beside the audit events that report it; the client always gets the same answer.
export type { CredentialFailureReason }

/**
 * Why a login was refused: the credentials, a throttle (429), a full password-check queue
 * (503), or a right password for an account whose email must be verified first (403).
 */
export type LoginFailureReason = CredentialFailureReason | 'throttled' | 'busy' | 'email_not_verified'

/** A failed login: 401 FST_TOKEN_AUTH_INVALID_CREDENTIALS, whatever the reason. */
export class LoginFailedError extends InvalidCredentialsError {
  readonly reason: CredentialFailureReason
  constructor (reason: CredentialFailureReason) {
    super()
    this.reason = reason
  }
}
