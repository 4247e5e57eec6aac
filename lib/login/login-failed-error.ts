import { InvalidCredentialsError } from '../errors.js'

/** Why a login failed, for audit hooks only: the client always gets the same answer. */
export type LoginFailureReason = 'unknown_user' | 'wrong_password' | 'unusable_password' | 'disabled_user'

/** A failed login: 401 FST_TOKEN_AUTH_INVALID_CREDENTIALS, whatever the reason. */
export class LoginFailedError extends InvalidCredentialsError {
  readonly reason: LoginFailureReason
  constructor (reason: LoginFailureReason) {
    super()
    this.reason = reason
  }
}
