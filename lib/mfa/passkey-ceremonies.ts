import {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON
} from '@simplewebauthn/server'
import type { CheckedRegistrationResponse } from './passkey-response.js'
import type { PasskeyRecord, UserRecord } from '../store/ports.js'

export type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON }

/** The relying party, as the `mfa.passkeys` option resolved it. */
export interface RelyingParty {
  rpId: string
  rpName: string
  origins: string[]
  /** How long a ceremony may take, in seconds (the challenge's lifetime). */
  timeoutSeconds: number
}

/** A credential a registration verified: what the store keeps of it. */
export type VerifiedCredential = Pick<PasskeyRecord, 'id' | 'publicKey' | 'counter' | 'transports' | 'deviceType' | 'backedUp'>

/** What a verified assertion tells: the new counter and the backup state. */
export interface VerifiedAssertion {
  counter: number
  deviceType: PasskeyRecord['deviceType']
  backedUp: boolean
}

/** The user handle a user's passkeys carry: the bytes of the user id (UTF-8), stable for the user's life. */
export function userHandleOf (userId: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(userId)
}

/** Bytes of base64url text, in the array type the library takes. */
function bytesOf (text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(Buffer.from(text, 'base64url'))
}

function descriptorOf (passkey: PasskeyRecord): { id: string, transports: string[] } {
  return { id: passkey.id, transports: passkey.transports }
}

/**
 * The WebAuthn ceremonies, over @simplewebauthn/server: options to hand the browser (the
 * challenge is ours, 32 random bytes), and verification of what it sends back. A
 * verification resolves undefined for anything that does not verify, whatever the library
 * threw: a hostile response is a refusal, never a crash.
 */
export class PasskeyCeremonies {
  readonly #party: RelyingParty

  constructor (party: RelyingParty) {
    this.#party = party
  }

  /** Options for navigator.credentials.create: a discoverable credential, no attestation, none of the user's existing ones again. */
  async registrationOptions (user: UserRecord, existing: readonly PasskeyRecord[], challenge: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return await generateRegistrationOptions({
      rpName: this.#party.rpName,
      rpID: this.#party.rpId,
      userName: user.username,
      userID: userHandleOf(user.id),
      challenge: bytesOf(challenge),
      timeout: this.#party.timeoutSeconds * 1000,
      attestationType: 'none',
      excludeCredentials: existing.map(descriptorOf),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' }
    })
  }

  /** Options for navigator.credentials.get: for the second step (the user's passkeys listed), or a passkey sign-in (none listed, user verification required). */
  async authenticationOptions (allowed: readonly PasskeyRecord[] | undefined, challenge: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return await generateAuthenticationOptions({
      rpID: this.#party.rpId,
      challenge: bytesOf(challenge),
      timeout: this.#party.timeoutSeconds * 1000,
      ...allowed === undefined
        ? { userVerification: 'required' }
        // A second factor after a password: presence is enough, a PIN prompt would be a third step.
        : { userVerification: 'discouraged', allowCredentials: allowed.map(descriptorOf) }
    })
  }

  async verifyRegistration (response: CheckedRegistrationResponse, challenge: string): Promise<VerifiedCredential | undefined> {
    try {
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.#party.origins,
        expectedRPID: this.#party.rpId,
        requireUserVerification: false
      })
      if (!result.verified) return undefined
      const { credential, credentialDeviceType, credentialBackedUp } = result.registrationInfo
      return {
        id: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: [...response.response.transports],
        deviceType: credentialDeviceType,
        backedUp: credentialBackedUp
      }
    } catch {
      return undefined
    }
  }

  /**
   * Verifies an assertion by the stored passkey. The library refuses a counter that did not
   * grow (unless it stays 0, for authenticators that keep none).
   */
  async verifyAuthentication (response: AuthenticationResponseJSON, passkey: PasskeyRecord, challenge: string, requireUserVerification: boolean): Promise<VerifiedAssertion | undefined> {
    try {
      const { verified, authenticationInfo } = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.#party.origins,
        expectedRPID: this.#party.rpId,
        credential: { id: passkey.id, publicKey: bytesOf(passkey.publicKey), counter: passkey.counter, transports: passkey.transports },
        requireUserVerification
      })
      if (!verified) return undefined
      return { counter: authenticationInfo.newCounter, deviceType: authenticationInfo.credentialDeviceType, backedUp: authenticationInfo.credentialBackedUp }
    } catch {
      return undefined
    }
  }
}
