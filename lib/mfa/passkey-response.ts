import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import { InvalidMfaRequestError } from '../errors.js'

/**
 * Bounds on what a browser sends (base64url characters), far above any real authenticator's,
 * so that a hostile body costs a few string checks and never a parse of megabytes. The route
 * schemas use the same ones.
 */
export const PASSKEY_RESPONSE_LIMITS = Object.freeze({
  // A credential id is at most 1023 bytes (WebAuthn §4): 1364 base64url characters.
  credentialId: 1364,
  clientData: 8192,
  // Attestation 'none' is asked for; a whole certificate chain would still fit.
  attestationObject: 16384,
  authenticatorData: 8192,
  signature: 2048,
  userHandle: 128,
  transports: 10
})
const { credentialId: MAX_CREDENTIAL_ID, clientData: MAX_CLIENT_DATA, attestationObject: MAX_ATTESTATION_OBJECT, authenticatorData: MAX_AUTHENTICATOR_DATA, signature: MAX_SIGNATURE, userHandle: MAX_USER_HANDLE, transports: MAX_TRANSPORTS } = PASSKEY_RESPONSE_LIMITS
const BASE64URL = /^[A-Za-z0-9_-]*$/
const TRANSPORT = /^[a-z-]{1,32}$/

function refuse (what: string): never {
  throw new InvalidMfaRequestError(`the passkey response ${what}`)
}

function objectOf (value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse(`${what} must be an object`)
  return value as Record<string, unknown>
}

function base64url (value: unknown, name: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !BASE64URL.test(value)) refuse(`${name} must be base64url of at most ${max} characters`)
  return value
}

function credentialFields (value: unknown): { id: string, response: Record<string, unknown> } {
  const credential = objectOf(value, 'itself')
  const id = base64url(credential.id, 'id', MAX_CREDENTIAL_ID)
  if (credential.rawId !== id) refuse('rawId must equal id')
  if (credential.type !== 'public-key') refuse('type must be public-key')
  return { id, response: objectOf(credential.response, 'response') }
}

/** A registration response whose transports are always a list. */
export type CheckedRegistrationResponse = RegistrationResponseJSON & { response: { transports: string[] } }

/** A registration response (navigator.credentials.create, as JSON) with only the fields we read, bounded; 400 otherwise. */
export function checkedRegistrationResponse (value: unknown): CheckedRegistrationResponse {
  const { id, response } = credentialFields(value)
  const transports = response.transports ?? []
  if (!Array.isArray(transports) || transports.length > MAX_TRANSPORTS || !transports.every((transport) => typeof transport === 'string' && TRANSPORT.test(transport))) {
    refuse(`transports must be a list of at most ${MAX_TRANSPORTS} transport names`)
  }
  return {
    id,
    rawId: id,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: base64url(response.clientDataJSON, 'clientDataJSON', MAX_CLIENT_DATA),
      attestationObject: base64url(response.attestationObject, 'attestationObject', MAX_ATTESTATION_OBJECT),
      transports: transports as string[]
    }
  }
}

/** An authentication response (navigator.credentials.get, as JSON) with only the fields we read, bounded; 400 otherwise. */
export function checkedAuthenticationResponse (value: unknown): AuthenticationResponseJSON {
  const { id, response } = credentialFields(value)
  const userHandle = response.userHandle ?? undefined
  return {
    id,
    rawId: id,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: base64url(response.clientDataJSON, 'clientDataJSON', MAX_CLIENT_DATA),
      authenticatorData: base64url(response.authenticatorData, 'authenticatorData', MAX_AUTHENTICATOR_DATA),
      signature: base64url(response.signature, 'signature', MAX_SIGNATURE),
      ...userHandle === undefined ? {} : { userHandle: base64url(userHandle, 'userHandle', MAX_USER_HANDLE) }
    }
  }
}

/**
 * The challenge the browser signed, read from clientDataJSON (base64url of JSON), so that
 * the stored challenge can be found and spent before anything is verified. 400 when it
 * does not hold one.
 */
export function signedChallenge (response: { response: { clientDataJSON: string } }): string {
  let clientData: unknown
  try {
    clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8'))
  } catch {
    refuse('clientDataJSON must be base64url of JSON')
  }
  const challenge = objectOf(clientData, 'clientDataJSON').challenge
  if (typeof challenge !== 'string') refuse('clientDataJSON must hold a challenge')
  return challenge
}
