import { Type, type Static } from '@sinclair/typebox'
import type { MfaStatus, PasskeyView } from '../lib/mfa/second-factors.js'
import { ErrorResponse, includeRefreshToken, password } from './login-schemas.js'
import { AuthenticationResponse, credentialId, CredentialOptions, RegistrationResponse } from './webauthn-schemas.js'

// The bodies of the second step of a login, of passkey sign-ins and of the factor management
// routes: bounded, so that the cheap 400 comes first; what they mean the core checks (a code's
// digits, a name's characters, exactly one proof), with the answers it gives anywhere.

// A login challenge is 43 base64url characters; a longer or odd one is unknown (401), not a 400.
const mfaToken = Type.String({ minLength: 1, maxLength: 128, description: 'The mfa_token POST /login answered.' })
// Six digits, or a recovery code as `xxxxx-xxxxx`; room for the spaces people type.
const code = Type.String({ minLength: 1, maxLength: 64, description: 'A code from the authenticator app.' })
const recoveryCode = Type.String({ minLength: 1, maxLength: 64, description: 'One of the user\'s recovery codes.' })
// Bounds the work before the core checks the content (trimmed, printable), as for API keys.
const name = Type.String({ minLength: 1, maxLength: 100, description: 'The user\'s label for the passkey.' })
const strict = { additionalProperties: false }

export const MfaLoginBody = Type.Object({
  mfa_token: mfaToken,
  code: Type.Optional(code),
  recovery_code: Type.Optional(recoveryCode),
  passkey: Type.Optional(AuthenticationResponse),
  include_refresh_token: includeRefreshToken
}, { ...strict, description: 'Exactly one of code, recovery_code and passkey.' })
export type MfaLoginRequest = Static<typeof MfaLoginBody>

export const MfaTokenBody = Type.Object({ mfa_token: mfaToken }, strict)
export type MfaTokenRequest = Static<typeof MfaTokenBody>

/** An empty object, or no body at all. */
export const EmptyBody = Type.Union([Type.Null(), Type.Object({}, strict)])

export const PasskeyLoginBody = Type.Object({ response: AuthenticationResponse, include_refresh_token: includeRefreshToken }, strict)
export type PasskeyLoginRequest = Static<typeof PasskeyLoginBody>

export const CurrentPasswordBody = Type.Object({ current_password: password }, strict)
export type CurrentPasswordRequest = Static<typeof CurrentPasswordBody>

export const TotpConfirmBody = Type.Object({ code }, strict)
export type TotpConfirmRequest = Static<typeof TotpConfirmBody>

export const TotpDisableBody = Type.Object({
  current_password: password,
  code: Type.Optional(code),
  recovery_code: Type.Optional(recoveryCode)
}, { ...strict, description: 'The password and exactly one of code and recovery_code.' })
export type TotpDisableRequest = Static<typeof TotpDisableBody>

export const PasskeyRegisterBody = Type.Object({ name, response: RegistrationResponse }, strict)
export type PasskeyRegisterRequest = Static<typeof PasskeyRegisterBody>

export const PasskeyRenameBody = Type.Object({ name }, strict)
export type PasskeyRenameRequest = Static<typeof PasskeyRenameBody>

/**
 * A passkey's id, the rest of the path: a wildcard, since a credential id may be up to 1364
 * characters and Fastify's parametric segments stop at maxParamLength (100 by default).
 */
export const PasskeyParams = Type.Object({ '*': credentialId }, strict)
export type PasskeyParamsType = Static<typeof PasskeyParams>

const seconds = Type.Integer({ description: 'Seconds since the epoch.' })

/** A passkey as the HTTP API shows one: never its public key or counter. */
export const PasskeyViewSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_at: seconds,
  last_used_at: Type.Union([seconds, Type.Null()], { description: 'Null while never used.' }),
  backed_up: Type.Boolean(),
  device_type: Type.Union([Type.Literal('singleDevice'), Type.Literal('multiDevice')]),
  transports: Type.Array(Type.String())
}, strict)

const MfaStatusSchema = Type.Object({
  totp: Type.Union([Type.Literal('off'), Type.Literal('pending'), Type.Literal('on')], { description: 'pending: enrolled, not yet confirmed by a first code.' }),
  recovery_codes_left: Type.Integer(),
  passkeys: Type.Array(PasskeyViewSchema)
}, strict)

export function passkeyViewOf (passkey: PasskeyView): Static<typeof PasskeyViewSchema> {
  return {
    id: passkey.id,
    name: passkey.name,
    created_at: passkey.createdAt,
    last_used_at: passkey.lastUsedAt,
    backed_up: passkey.backedUp,
    device_type: passkey.deviceType,
    transports: passkey.transports
  }
}

export function statusViewOf (status: MfaStatus): Static<typeof MfaStatusSchema> {
  return { totp: status.totp, recovery_codes_left: status.recoveryCodesLeft, passkeys: status.passkeys.map(passkeyViewOf) }
}

const recoveryCodes = Type.Array(Type.String(), { description: 'Shown this once: only their keyed hashes are kept.' })
const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse }

export const statusResponses = { 200: MfaStatusSchema, ...errors }
export const totpEnrollmentResponses = {
  200: Type.Object({
    secret: Type.String({ description: 'The secret in base32, for typing into the app.' }),
    uri: Type.String({ description: 'The otpauth:// URI.' }),
    qr_svg: Type.String({ description: 'The URI as a QR code (SVG).' })
  }, strict),
  ...errors
}
export const totpConfirmedResponses = {
  200: Type.Object({ recovery_codes: Type.Optional(recoveryCodes) }, { ...strict, description: 'recovery_codes: a new set, when the user had none left.' }),
  ...errors
}
export const recoveryCodesResponses = { 200: Type.Object({ recovery_codes: recoveryCodes }, strict), ...errors }
export const optionsResponses = { 200: CredentialOptions, ...errors }
export const passkeyAddedResponses = { 201: Type.Object({ passkey: PasskeyViewSchema, recovery_codes: Type.Optional(recoveryCodes) }, strict), ...errors }
export const passkeyResponses = { 200: PasskeyViewSchema, ...errors }
