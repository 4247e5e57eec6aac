import type { RingKey } from './key-ring.js'
import { encodeSegment } from './base64url.js'

/** The media type of access tokens (RFC 9068 §2.1), so no other JWT can stand in for one. */
export const ACCESS_TOKEN_TYP = 'at+jwt'

/**
 * The exact header segment this package writes for `key`. The verifier keeps these
 * strings and recognises its own tokens' headers by comparison instead of parsing them.
 */
export function headerSegmentFor (key: RingKey, typ: string): string {
  return encodeSegment(JSON.stringify({ alg: key.alg, typ, kid: key.kid }))
}

/** `typ` compares case-insensitively and may carry the `application/` prefix (RFC 7515 §4.1.9). */
export function typMatches (actual: unknown, expected: string): boolean {
  if (typeof actual !== 'string') return false
  const lower = actual.toLowerCase()
  return lower === expected || lower === `application/${expected}`
}
