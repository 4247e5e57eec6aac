import { Type, type Static } from '@sinclair/typebox'
import { MAX_EMAIL_LENGTH } from '../lib/accounts/email-address.js'
import { ErrorResponse, includeRefreshToken, password, TokenResponse } from './login-schemas.js'

const email = Type.String({ minLength: 1, maxLength: MAX_EMAIL_LENGTH })
// Account tokens are 43 characters; a longer value is refused before any work, a shorter one gets the same 400 as an unknown token.
const token = Type.String({ minLength: 1, maxLength: 128 })

export const EmailBody = Type.Object({ email }, { additionalProperties: false })
export type EmailRequest = Static<typeof EmailBody>

export const PasswordResetBody = Type.Object({
  token,
  new_password: password,
  include_refresh_token: includeRefreshToken
}, { additionalProperties: false })
export type PasswordResetRequest = Static<typeof PasswordResetBody>

export const EmailVerifyBody = Type.Object({ token }, { additionalProperties: false })
export type EmailVerifyRequest = Static<typeof EmailVerifyBody>

export const EmailChangeBody = Type.Object({
  new_email: email,
  current_password: password
}, { additionalProperties: false })
export type EmailChangeRequest = Static<typeof EmailChangeBody>

/** 202 with no body: the request was taken, and nothing tells what became of it. */
export const acceptedResponses = { 202: Type.Null(), '4xx': ErrorResponse, '5xx': ErrorResponse }
/** A reset answers 204, or a session when `passwordReset.logIn` is on. */
export const passwordResetResponses = { 200: TokenResponse, 204: Type.Null(), '4xx': ErrorResponse, '5xx': ErrorResponse }
