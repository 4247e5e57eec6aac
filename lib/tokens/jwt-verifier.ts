import type { Clock } from '../clock.js'
import { TokenInvalidError } from '../errors.js'
import { decodeSegmentText, isBase64urlSegment } from './base64url.js'
import { checkClaims, type ClaimsPolicy, type JwtClaims } from './claims.js'
import { headerSegmentFor, typMatches } from './jws-header.js'
import type { KeyRing, RingKey } from './key-ring.js'

export interface VerifierPolicy extends ClaimsPolicy {
  /** Header `typ` every token must carry (e.g. 'at+jwt'); undefined accepts any. */
  typ: string | undefined
  /** Longer tokens are refused before any decoding. */
  maxTokenLength: number
}

// Header parameters that would make a verifier fetch or trust a key named by the token
// itself, or change how the payload is read: refused outright instead of ignored.
const REFUSED_HEADER_PARAMETERS = ['jku', 'jwk', 'x5u', 'x5c', 'b64'] as const

/** Decodes a base64url segment into a JSON object, refusing every other shape. */
export function decodeJsonObject (segment: string, part: string): Record<string, unknown> {
  if (!isBase64urlSegment(segment)) throw new TokenInvalidError(`${part} is not canonical base64url`)
  const text = decodeSegmentText(segment)
  if (text === undefined) throw new TokenInvalidError(`${part} is not UTF-8`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new TokenInvalidError(`${part} is not JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenInvalidError(`${part} is not a JSON object`)
  }
  return value as Record<string, unknown>
}

/** The alg and kid of a header that passed the checks every token's header must pass. */
export interface CheckedHeader {
  alg: string
  kid: string | undefined
}

/**
 * The checks on a decoded header that do not depend on the key: an algorithm named and not
 * `none`, no critical extensions, no parameter that would let the token name its own key,
 * and a `typ` the caller accepts (given as it stands, undefined when absent).
 */
export function checkProtectedHeader (header: Record<string, unknown>, acceptsTyp: (typ: unknown) => boolean): CheckedHeader {
  const { alg, kid } = header
  if (typeof alg !== 'string') throw new TokenInvalidError('header has no alg')
  if (alg.toLowerCase() === 'none') throw new TokenInvalidError('unsigned tokens are never accepted')
  if (Object.hasOwn(header, 'crit')) throw new TokenInvalidError('header has critical extensions this service does not support')
  for (const name of REFUSED_HEADER_PARAMETERS) {
    if (Object.hasOwn(header, name)) throw new TokenInvalidError(`header parameter ${name} is not accepted`)
  }
  if (!acceptsTyp(header.typ)) throw new TokenInvalidError('wrong token type')
  if (kid !== undefined && typeof kid !== 'string') throw new TokenInvalidError('kid is not a string')
  return { alg, kid }
}

/**
 * Where the dots of a compact JWS are: three non-empty segments. Their alphabet is checked
 * where each is read: the header by exact match or decoding, the signature by the key, the
 * payload by decoding.
 */
export function locateSegments (token: unknown, maxTokenLength: number): { token: string, firstDot: number, secondDot: number } {
  if (typeof token !== 'string') throw new TokenInvalidError('not a string')
  if (token.length > maxTokenLength) throw new TokenInvalidError('token is too long')
  const firstDot = token.indexOf('.')
  const secondDot = token.indexOf('.', firstDot + 1)
  if (firstDot < 1 || secondDot < firstDot + 2 || secondDot === token.length - 1 || token.includes('.', secondDot + 1)) {
    throw new TokenInvalidError('not a compact JWS')
  }
  return { token, firstDot, secondDot }
}

/** A verified JWS whose payload has not been interpreted yet. */
export interface VerifiedSignature {
  key: RingKey
  payloadSegment: string
}

/**
 * Verifies compact JWS tokens against a key ring. The key, found by `kid` in memory,
 * decides the algorithm; the token's `alg` must merely agree with it.
 */
export class JwtVerifier {
  readonly #ring: KeyRing
  readonly #policy: VerifierPolicy
  // The exact header segment this service writes for each key: a token whose header is
  // one of them is matched by comparing strings, without decoding or parsing it.
  readonly #knownHeaders: Array<{ segment: string, key: RingKey }> = []
  readonly #clock: Clock

  constructor (ring: KeyRing, policy: VerifierPolicy, clock: Clock) {
    this.#ring = ring
    this.#policy = policy
    this.#clock = clock
    if (policy.typ !== undefined) {
      for (const key of ring.keys) this.#knownHeaders.push({ segment: headerSegmentFor(key, policy.typ), key })
    }
  }

  #keyForHeader (headerSegment: string): RingKey {
    const typ = this.#policy.typ
    const { alg, kid } = checkProtectedHeader(decodeJsonObject(headerSegment, 'header'), (value) => typ === undefined || typMatches(value, typ))
    const key = this.#ring.find(kid)
    if (key === undefined) throw new TokenInvalidError('unknown signing key')
    if (alg !== key.alg) throw new TokenInvalidError('algorithm does not match the key')
    return key
  }

  #knownKeyFor (token: string, headerLength: number): RingKey | undefined {
    for (const known of this.#knownHeaders) {
      if (known.segment.length === headerLength && token.startsWith(known.segment)) return known.key
    }
    return undefined
  }

  /** Checks shape, header and signature; the payload is only located, not read. */
  verifySignature (input: unknown): VerifiedSignature {
    const { token, firstDot, secondDot } = locateSegments(input, this.#policy.maxTokenLength)
    const key = this.#knownKeyFor(token, firstDot) ?? this.#keyForHeader(token.slice(0, firstDot))
    if (!key.verify(token.slice(0, secondDot), token.slice(secondDot + 1))) {
      throw new TokenInvalidError('bad signature')
    }
    return { key, payloadSegment: token.slice(firstDot + 1, secondDot) }
  }

  /** Verifies the signature, then the payload as a JWT claims set; `now` in seconds. */
  verify (token: unknown, now = this.#clock.now() / 1000): JwtClaims {
    const { payloadSegment } = this.verifySignature(token)
    const claims = decodeJsonObject(payloadSegment, 'payload')
    checkClaims(claims, this.#policy, now)
    return claims
  }
}
