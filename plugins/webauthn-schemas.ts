import { Type, type TString } from '@sinclair/typebox'
import { PASSKEY_RESPONSE_LIMITS } from '../lib/mfa/passkey-response.js'

// What a browser's PublicKeyCredential.toJSON() sends (WebAuthn L3 §5.1, RegistrationResponseJSON
// and AuthenticationResponseJSON): only the fields the spec names, every string bounded far
// above any real authenticator's, so that a hostile body is a cheap 400 before the core decodes
// a byte. The core checks them again (it is usable without HTTP).

const { credentialId: MAX_CREDENTIAL_ID, clientData: MAX_CLIENT_DATA, authenticatorData: MAX_AUTHENTICATOR_DATA, signature: MAX_SIGNATURE, userHandle: MAX_USER_HANDLE, attestationObject: MAX_ATTESTATION_OBJECT, transports: MAX_TRANSPORTS } = PASSKEY_RESPONSE_LIMITS
const MAX_PUBLIC_KEY = 8192
const MAX_EXTENSION_VALUE = 1024

const base64url = (maxLength: number): TString => Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+$' })
const strict = { additionalProperties: false }

export const credentialId = base64url(MAX_CREDENTIAL_ID)

/** The client extension outputs WebAuthn L3 defines (AuthenticationExtensionsClientOutputsJSON); none is read. */
const ClientExtensionResults = Type.Object({
  appid: Type.Optional(Type.Boolean()),
  appidExclude: Type.Optional(Type.Boolean()),
  hmacCreateSecret: Type.Optional(Type.Boolean()),
  credProps: Type.Optional(Type.Object({ rk: Type.Optional(Type.Boolean()) }, strict)),
  largeBlob: Type.Optional(Type.Object({
    supported: Type.Optional(Type.Boolean()),
    blob: Type.Optional(base64url(MAX_EXTENSION_VALUE)),
    written: Type.Optional(Type.Boolean())
  }, strict)),
  prf: Type.Optional(Type.Object({
    enabled: Type.Optional(Type.Boolean()),
    results: Type.Optional(Type.Object({ first: base64url(MAX_EXTENSION_VALUE), second: Type.Optional(base64url(MAX_EXTENSION_VALUE)) }, strict))
  }, strict))
}, strict)

const credentialFields = {
  id: credentialId,
  rawId: credentialId,
  type: Type.Literal('public-key'),
  authenticatorAttachment: Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')])),
  clientExtensionResults: Type.Optional(ClientExtensionResults)
}

/** What navigator.credentials.create() gives, as JSON: a new passkey. */
export const RegistrationResponse = Type.Object({
  ...credentialFields,
  response: Type.Object({
    clientDataJSON: base64url(MAX_CLIENT_DATA),
    attestationObject: base64url(MAX_ATTESTATION_OBJECT),
    authenticatorData: Type.Optional(base64url(MAX_AUTHENTICATOR_DATA)),
    transports: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32, pattern: '^[a-z-]+$' }), { maxItems: MAX_TRANSPORTS })),
    publicKeyAlgorithm: Type.Optional(Type.Integer({ minimum: -65536, maximum: 65535 })),
    publicKey: Type.Optional(base64url(MAX_PUBLIC_KEY))
  }, strict)
}, strict)

/** What navigator.credentials.get() gives, as JSON: a passkey's signature over our challenge. */
export const AuthenticationResponse = Type.Object({
  ...credentialFields,
  response: Type.Object({
    clientDataJSON: base64url(MAX_CLIENT_DATA),
    authenticatorData: base64url(MAX_AUTHENTICATOR_DATA),
    signature: base64url(MAX_SIGNATURE),
    // Null when the authenticator returned none (a second-step assertion may not name the user).
    userHandle: Type.Optional(Type.Union([base64url(MAX_USER_HANDLE), Type.Null()]))
  }, strict)
}, strict)

/**
 * WebAuthn options as @simplewebauthn/server builds them, handed to the page as they are:
 * the challenge is checked to be there, every other field passes through.
 */
export const CredentialOptions = Type.Object({ challenge: Type.String() }, { additionalProperties: true })
