import { Type, type Static } from '@sinclair/typebox'
import { MAX_USERNAME_LENGTH } from '../lib/accounts/username.js'

// Far above any password bcrypt can take (72 bytes), low enough that no huge value
// reaches normalisation or bcrypt: the cheap 400 happens first.
const MAX_PASSWORD_INPUT_LENGTH = 1024
// Generous, so that a wrong kind of token (an access token) gets a 401 rather than a 400.
const MAX_REFRESH_TOKEN_INPUT_LENGTH = 4096

/** A password field: bounded far above what bcrypt takes, so the cheap 400 comes first. */
export const password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH })
export const includeRefreshToken = Type.Optional(Type.Boolean({ description: 'Also return the refresh token in the body (for clients without cookies).' }))

export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: MAX_USERNAME_LENGTH }),
  password,
  include_refresh_token: includeRefreshToken
}, { additionalProperties: false })
export type LoginRequest = Static<typeof LoginBody>

/** Refresh and logout take the refresh token from the body, or nothing (cookie). */
export const RefreshTokenBody = Type.Union([
  Type.Null(),
  Type.Object({ refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_REFRESH_TOKEN_INPUT_LENGTH })) }, { additionalProperties: false })
])
export type RefreshTokenRequest = Static<typeof RefreshTokenBody>

export const PasswordChangeBody = Type.Object({
  current_password: password,
  new_password: password,
  include_refresh_token: includeRefreshToken
}, { additionalProperties: false })
export type PasswordChangeRequest = Static<typeof PasswordChangeBody>

/**
 * The OAuth 2 token response (RFC 6749 §5.1) plus the signed-in user's public fields.
 * Browsers get the tokens as cookies only, so for them access_token is absent.
 */
export const TokenResponse = Type.Object({
  access_token: Type.Optional(Type.String()),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds the access token lives.' }),
  refresh_token: Type.Optional(Type.String()),
  refresh_token_expires_in: Type.Optional(Type.Integer()),
  user: Type.Object({ id: Type.String(), username: Type.String() }, { additionalProperties: true })
})

export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
})

/** A right password of a user with a second factor: the login goes on at the second step, with `mfa_token`. */
export const MfaRequiredResponse = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String(),
  expires_in: Type.Integer({ description: 'Seconds the second step may take.' }),
  methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('recovery_code'), Type.Literal('passkey')]))
}, { additionalProperties: false })

export const tokenResponses = { 200: TokenResponse, '4xx': ErrorResponse, '5xx': ErrorResponse }
export const loginResponses = { 200: Type.Union([MfaRequiredResponse, TokenResponse]), '4xx': ErrorResponse, '5xx': ErrorResponse }
export const emptyResponses = { 204: Type.Null(), '4xx': ErrorResponse, '5xx': ErrorResponse }
