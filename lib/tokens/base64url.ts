// Strict base64url (RFC 4648 §5, no padding) as JWS requires: Buffer's own decoder
// skips characters it does not know and ignores non-zero trailing bits, which would let
// one token have many spellings. These checks make every accepted segment canonical.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VALUE_OF = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUE_OF[ALPHABET.charCodeAt(i)] = i

/** Three non-empty base64url segments separated by dots: the only shape a compact JWS has. */
export const COMPACT_JWS_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/**
 * True when `segment` (already known to use only the alphabet) is the one encoding
 * of its bytes: its length is possible and the unused low bits of its last character are zero.
 */
export function isCanonicalSegment (segment: string): boolean {
  const remainder = segment.length % 4
  if (remainder === 0) return true
  if (remainder === 1) return false
  const last = VALUE_OF[segment.charCodeAt(segment.length - 1)]
  const unusedBitsMask = remainder === 2 ? 0b1111 : 0b11
  return (last & unusedBitsMask) === 0
}

export function encodeSegment (bytes: Buffer | string): string {
  return Buffer.from(bytes).toString('base64url')
}
