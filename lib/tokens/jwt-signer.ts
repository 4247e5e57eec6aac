import { randomUUID } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { encodeSegment } from './base64url.js'
import type { JwtClaims } from './claims.js'
import { headerSegmentFor } from './jws-header.js'
import type { KeyRing, RingKey } from './key-ring.js'

export interface SignerPolicy {
  issuer: string | undefined
  audience: string | readonly string[] | undefined
  ttlSeconds: number
  typ: string
}

/** Claims a caller supplies: `sub` and application claims. Time and identity claims are the signer's. */
export type ClaimsInput = { sub: string } & Record<string, unknown>

export interface SignedToken {
  token: string
  claims: JwtClaims & { sub: string, jti: string, iat: number, exp: number }
}

const SIGNER_OWNED_CLAIMS = ['iss', 'aud', 'iat', 'exp', 'nbf', 'jti'] as const

export class JwtSigner {
  readonly #key: RingKey | undefined
  readonly #headerSegment: string | undefined
  readonly #policy: SignerPolicy

  constructor (ring: KeyRing, policy: SignerPolicy) {
    this.#key = ring.signingKey
    this.#headerSegment = this.#key === undefined ? undefined : headerSegmentFor(this.#key, policy.typ)
    this.#policy = policy
  }

  sign (input: ClaimsInput, ttlSeconds = this.#policy.ttlSeconds, now = Date.now() / 1000): SignedToken {
    if (this.#key === undefined) throw new InvalidOptionError('the first key has no private key, so this service cannot sign tokens')
    if (typeof input !== 'object' || input === null || typeof input.sub !== 'string' || input.sub.length === 0) {
      throw new TypeError('claims.sub must be a non-empty string')
    }
    for (const name of SIGNER_OWNED_CLAIMS) {
      if (Object.hasOwn(input, name)) throw new TypeError(`claims.${name} is set by the signer; use the options (issuer, audience, expiresIn) instead`)
    }
    const iat = Math.floor(now)
    // Spread (not Object.assign) so that an own `__proto__` key stays a plain property.
    const claims: Record<string, unknown> = this.#policy.issuer === undefined ? { ...input } : { iss: this.#policy.issuer, ...input }
    if (this.#policy.audience !== undefined) claims.aud = this.#policy.audience
    claims.iat = iat
    claims.exp = iat + Math.max(1, Math.round(ttlSeconds))
    claims.jti = randomUUID()
    const signingInput = `${this.#headerSegment as string}.${encodeSegment(JSON.stringify(claims))}`
    return { token: `${signingInput}.${this.#key.sign(signingInput)}`, claims: claims as SignedToken['claims'] }
  }
}
