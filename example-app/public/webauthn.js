// Passkeys in the browser: the server sends WebAuthn options as JSON (binary fields in
// base64url), navigator.credentials wants ArrayBuffers, and its answer goes back as JSON
// again. Written out here rather than with PublicKeyCredential.parse…FromJSON/toJSON, which
// not every browser in use has yet.

export function passkeysSupported () {
  return typeof window.PublicKeyCredential === 'function' && typeof navigator.credentials?.create === 'function'
}

export function base64urlToBuffer (value) {
  const base64 = value.replaceAll('-', '+').replaceAll('_', '/')
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes.buffer
}

export function bufferToBase64url (buffer) {
  const bytes = new Uint8Array(buffer)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function credentialDescriptors (list) {
  return (list ?? []).map((descriptor) => ({ ...descriptor, id: base64urlToBuffer(descriptor.id) }))
}

/** PublicKeyCredentialCreationOptionsJSON → what navigator.credentials.create() takes. */
export function creationOptionsFromJson (json) {
  return {
    ...json,
    challenge: base64urlToBuffer(json.challenge),
    user: { ...json.user, id: base64urlToBuffer(json.user.id) },
    excludeCredentials: credentialDescriptors(json.excludeCredentials)
  }
}

/** PublicKeyCredentialRequestOptionsJSON → what navigator.credentials.get() takes. */
export function requestOptionsFromJson (json) {
  return { ...json, challenge: base64urlToBuffer(json.challenge), allowCredentials: credentialDescriptors(json.allowCredentials) }
}

// The fields the server's schema knows: it refuses any other (none is read anyway).
function extensionResults (credential) {
  const { credProps } = credential.getClientExtensionResults()
  return credProps === undefined ? {} : { credProps: { rk: credProps.rk } }
}

function credentialFields (credential) {
  const fields = { id: credential.id, rawId: bufferToBase64url(credential.rawId), type: credential.type, clientExtensionResults: extensionResults(credential) }
  // null when the browser does not say; the schema takes the two names or nothing.
  if (credential.authenticatorAttachment) fields.authenticatorAttachment = credential.authenticatorAttachment
  return fields
}

/** A new passkey (navigator.credentials.create) as RegistrationResponseJSON. */
export async function createPasskey (optionsJson) {
  const credential = await navigator.credentials.create({ publicKey: creationOptionsFromJson(optionsJson) })
  const { response } = credential
  return {
    ...credentialFields(credential),
    response: {
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      attestationObject: bufferToBase64url(response.attestationObject),
      transports: typeof response.getTransports === 'function' ? response.getTransports() : []
    }
  }
}

/** A passkey's signature over the server's challenge (navigator.credentials.get) as AuthenticationResponseJSON. */
export async function signWithPasskey (optionsJson) {
  const credential = await navigator.credentials.get({ publicKey: requestOptionsFromJson(optionsJson) })
  const { response } = credential
  return {
    ...credentialFields(credential),
    response: {
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      authenticatorData: bufferToBase64url(response.authenticatorData),
      signature: bufferToBase64url(response.signature),
      // A second-step assertion may name no user: null, never an empty string.
      userHandle: response.userHandle && response.userHandle.byteLength > 0 ? bufferToBase64url(response.userHandle) : null
    }
  }
}

/** Why a WebAuthn call failed, for the status line: a person who cancelled needs no alarm. */
export function describePasskeyError (error) {
  if (error?.name === 'NotAllowedError') return 'The passkey prompt was cancelled or timed out.'
  if (error?.name === 'InvalidStateError') return 'This device holds a passkey for your account already.'
  if (error?.name === 'SecurityError') return 'The browser refused passkeys on this address (they need https:// or localhost, and the site\'s own domain).'
  return `The passkey could not be used: ${error?.message ?? error}`
}
