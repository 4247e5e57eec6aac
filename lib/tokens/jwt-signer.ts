import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock.js'
import { encodeSegment } from './base64url.js'
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

/** A signed token and the claims the signer chose for it. */
export interface SignedToken {
  token: string
  iat: number
  exp: number
  jti: string
}

const SIGNER_OWNED_CLAIMS = ['iss', 'aud', 'iat', 'exp', 'nbf', 'jti'] as const

export class JwtSigner {
  readonly #key: RingKey | undefined
  readonly #headerSegment: string | undefined
  readonly #policy: SignerPolicy
  // The JSON of the claims that never change, made once: `,"iss":…` and `,"aud":…`.
  readonly #issuerJson: string
  readonly #audienceJson: string
  readonly #clock: Clock

  constructor (ring: KeyRing, policy: SignerPolicy, clock: Clock) {
    this.#key = ring.signingKey
    this.#headerSegment = this.#key === undefined ? undefined : headerSegmentFor(this.#key, policy.typ)
    this.#policy = policy
    this.#clock = clock
    this.#issuerJson = policy.issuer === undefined ? '' : `,"iss":${JSON.stringify(policy.issuer)}`
    this.#audienceJson = policy.audience === undefined ? '' : `,"aud":${JSON.stringify(policy.audience)}`
  }

  sign (input: ClaimsInput, ttlSeconds = this.#policy.ttlSeconds, now = this.#clock.now() / 1000): SignedToken {
    // Calling sign on a verify-only ring is a programming mistake, so a TypeError as in jose.
    if (this.#key === undefined) throw new TypeError('the first key has no private key, so this service cannot sign tokens')
    if (typeof input !== 'object' || input === null) throw new TypeError('claims must be an object')
    // One snapshot of the caller's own data: getters run once, and nothing the caller's
    // object does later (a toJSON, a getter, a proxy) can change what was checked.
    const claims: Record<string, unknown> = { ...input }
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new TypeError('claims.sub must be a non-empty string')
    if (typeof claims.toJSON === 'function') throw new TypeError('claims must be plain data, without toJSON')
    for (const name of SIGNER_OWNED_CLAIMS) {
      if (Object.hasOwn(claims, name)) throw new TypeError(`claims.${name} is set by the signer; use the options (issuer, audience, expiresIn) instead`)
    }
    const iat = Math.floor(now)
    const exp = iat + Math.max(1, Math.round(ttlSeconds))
    if (!Number.isSafeInteger(exp)) throw new TypeError('the token lifetime must be a finite number of seconds')
    const jti = randomUUID()
    // The caller's claims are serialised as they are and the signer's written after them
    // (JSON.parse keeps the last of duplicate names): no second object built per token.
    const json = `${JSON.stringify(claims).slice(0, -1)}${this.#issuerJson}${this.#audienceJson},"iat":${iat},"exp":${exp},"jti":"${jti}"}`
    const signingInput = `${this.#headerSegment as string}.${encodeSegment(json)}`
    return { token: `${signingInput}.${this.#key.sign(signingInput)}`, iat, exp, jti }
  }
}
