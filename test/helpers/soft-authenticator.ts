import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

// A software WebAuthn authenticator for tests: one ES256 credential made with node:crypto,
// attestation 'none', and registration and assertion responses built byte by byte as the
// spec lays them out, so that the server side is tested without a browser.

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>

function cborHead (major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length])
  if (length < 256) return Buffer.from([(major << 5) | 24, length])
  if (length < 65536) return Buffer.from([(major << 5) | 25, length >> 8, length & 255])
  const head = Buffer.alloc(5)
  head[0] = (major << 5) | 26
  head.writeUInt32BE(length, 1)
  return head
}

/** The few CBOR types attestation objects and COSE keys use (RFC 8949). */
export function cbor (value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value)
  if (typeof value === 'string') return Buffer.concat([cborHead(3, Buffer.byteLength(value)), Buffer.from(value)])
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value])
  return Buffer.concat([cborHead(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)])])
}

const FLAG = { userPresent: 0x01, userVerified: 0x04, backupEligible: 0x08, backedUp: 0x10, attestedData: 0x40 }

/** What an authenticator may be made to do differently for one ceremony. */
export interface Tweaks {
  /** Default: the authenticator's own setting. */
  userVerified?: boolean
  userPresent?: boolean
  /** Default: the authenticator's own setting. */
  backupEligible?: boolean
  backedUp?: boolean
  /** The signature counter to report; default: the next one (or 0 for an authenticator that keeps none). */
  counter?: number
  origin?: string
  rpId?: string
  /** The challenge to sign; default: the options' own. */
  challenge?: string
  type?: string
  /** The user handle to report; null: none. Default: the one registered. */
  userHandle?: string | null
  /** Sign other bytes than the ones sent. */
  badSignature?: boolean
  /** Register with a 'packed' self attestation whose signature is over other bytes (it verifies as false). */
  badPackedAttestation?: boolean
}

export interface SoftAuthenticatorOptions {
  origin: string
  userVerified?: boolean
  backupEligible?: boolean
  backedUp?: boolean
  /** False: an authenticator that keeps no counter (always 0). Default true. */
  keepsCounter?: boolean
}

interface CreationOptions { challenge: string, rp: { id?: string }, user: { id: string } }
interface RequestOptions { challenge: string, rpId?: string }

/** One discoverable ES256 credential. */
export class SoftAuthenticator {
  readonly credentialId = randomBytes(16)
  readonly id = this.credentialId.toString('base64url')
  readonly #privateKey: KeyObject
  readonly #publicKey: KeyObject
  readonly #options: Required<SoftAuthenticatorOptions>
  #counter = 0
  /** The user handle the relying party gave at registration (base64url). */
  userHandle: string | undefined
  rpId: string | undefined

  constructor (options: SoftAuthenticatorOptions) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.#privateKey = privateKey
    this.#publicKey = publicKey
    this.#options = { userVerified: true, backupEligible: false, backedUp: false, keepsCounter: true, ...options }
  }

  get counter (): number {
    return this.#counter
  }

  #coseKey (): Buffer {
    const jwk = this.#publicKey.export({ format: 'jwk' })
    return cbor(new Map<Cbor, Cbor>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x as string, 'base64url')],
      [-3, Buffer.from(jwk.y as string, 'base64url')]
    ]))
  }

  #authenticatorData (rpId: string, tweaks: Tweaks, attested: boolean): Buffer {
    const { userVerified = this.#options.userVerified, userPresent = true, backupEligible = this.#options.backupEligible, backedUp = this.#options.backedUp } = tweaks
    let flags = 0
    if (userPresent) flags |= FLAG.userPresent
    if (userVerified) flags |= FLAG.userVerified
    if (backupEligible) flags |= FLAG.backupEligible
    if (backedUp) flags |= FLAG.backedUp
    if (attested) flags |= FLAG.attestedData
    if (tweaks.counter === undefined && this.#options.keepsCounter) this.#counter++
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(tweaks.counter ?? (this.#options.keepsCounter ? this.#counter : 0))
    const parts: Buffer[] = [createHash('sha256').update(rpId).digest(), Buffer.from([flags]), counter]
    if (attested) {
      const idLength = Buffer.alloc(2)
      idLength.writeUInt16BE(this.credentialId.length)
      parts.push(Buffer.alloc(16), idLength, this.credentialId, this.#coseKey())
    }
    return Buffer.concat(parts)
  }

  #clientData (type: string, challenge: string, tweaks: Tweaks): Buffer {
    return Buffer.from(JSON.stringify({ type: tweaks.type ?? type, challenge: tweaks.challenge ?? challenge, origin: tweaks.origin ?? this.#options.origin, crossOrigin: false }))
  }

  /** The response of navigator.credentials.create for these options, as JSON (attestation 'none'). */
  register (options: CreationOptions, tweaks: Tweaks = {}): { id: string, rawId: string, type: 'public-key', response: { clientDataJSON: string, attestationObject: string, transports: string[] }, clientExtensionResults: object } {
    const rpId = tweaks.rpId ?? options.rp.id as string
    this.rpId = options.rp.id
    this.userHandle = options.user.id
    const authData = this.#authenticatorData(rpId, tweaks, true)
    const clientData = this.#clientData('webauthn.create', options.challenge, tweaks)
    const attestation: Array<[Cbor, Cbor]> = tweaks.badPackedAttestation === true
      ? [['fmt', 'packed'], ['attStmt', new Map<Cbor, Cbor>([['alg', -7], ['sig', sign('sha256', Buffer.from('other bytes'), this.#privateKey)]])]]
      : [['fmt', 'none'], ['attStmt', new Map()]]
    const attestationObject = cbor(new Map<Cbor, Cbor>([...attestation, ['authData', authData]]))
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientData.toString('base64url'),
        attestationObject: attestationObject.toString('base64url'),
        transports: ['internal']
      },
      clientExtensionResults: {}
    }
  }

  /** The response of navigator.credentials.get for these options, as JSON, signed with the credential's key. */
  assert (options: RequestOptions, tweaks: Tweaks = {}): { id: string, rawId: string, type: 'public-key', response: { clientDataJSON: string, authenticatorData: string, signature: string, userHandle?: string }, clientExtensionResults: object } {
    const authData = this.#authenticatorData(tweaks.rpId ?? options.rpId ?? this.rpId as string, tweaks, false)
    const clientData = this.#clientData('webauthn.get', options.challenge, tweaks)
    const signed = Buffer.concat([authData, createHash('sha256').update(clientData).digest()])
    const signature = sign('sha256', tweaks.badSignature === true ? Buffer.concat([signed, Buffer.from([0])]) : signed, this.#privateKey)
    const userHandle = tweaks.userHandle === undefined ? this.userHandle : tweaks.userHandle
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientData.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...userHandle === null || userHandle === undefined ? {} : { userHandle }
      },
      clientExtensionResults: {}
    }
  }
}
