import { isUtf8 } from 'node:buffer'

// Strict base64url (RFC 4648 §5, no padding) as JWS requires: Buffer's own decoder
// accepts both alphabets, skips characters it does not know and ignores non-zero
// trailing bits, which would let one token have many spellings. These checks make
// every accepted segment canonical.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VALUE_OF = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUE_OF[ALPHABET.charCodeAt(i)] = i
const ALPHABET_ONLY = /^[A-Za-z0-9_-]+$/

/**
 * True when `segment` is non-empty, uses only the base64url alphabet, and is the one
 * encoding of its bytes: its length is possible and the unused low bits of its last
 * character are zero.
 */
export function isBase64urlSegment (segment: string): boolean {
  if (!ALPHABET_ONLY.test(segment)) return false
  const remainder = segment.length % 4
  if (remainder === 0) return true
  if (remainder === 1) return false
  const unusedBitsMask = remainder === 2 ? 0b1111 : 0b11
  return (VALUE_OF[segment.charCodeAt(segment.length - 1)] & unusedBitsMask) === 0
}

// One reusable buffer for encoding and decoding: a fresh Buffer per call costs more than
// the conversion itself. Safe because every use is synchronous and finishes before the next.
// Rare larger jobs get a buffer of their own, so that one huge claim set is not kept alive.
const scratch = Buffer.allocUnsafe(16384)

function scratchOf (bytes: number): Buffer {
  return bytes <= scratch.length ? scratch : Buffer.allocUnsafe(bytes)
}

/**
 * The UTF-8 bytes of a string (a JWS signing input) in the shared buffer: a view, valid
 * only until the next call, so the caller must use it at once. UTF-8, not latin1, so
 * that a character outside ASCII can never stand in for the ASCII byte it ends with.
 */
export function utf8Bytes (text: string): Buffer {
  const buffer = scratchOf(text.length * 3)
  return buffer.subarray(0, buffer.write(text, 0, 'utf8'))
}

/** base64url of a string's UTF-8 bytes. */
export function encodeSegment (text: string): string {
  const buffer = scratchOf(text.length * 3)
  return buffer.toString('base64url', 0, buffer.write(text, 0, 'utf8'))
}

/** The UTF-8 text a (valid) base64url segment encodes, or undefined when it is not UTF-8. */
export function decodeSegmentText (segment: string): string | undefined {
  const buffer = scratchOf(Math.ceil(segment.length * 3 / 4))
  const length = buffer.write(segment, 0, 'base64url')
  const text = buffer.toString('utf8', 0, length)
  // Invalid UTF-8 decodes to U+FFFD; only then is the strict (slower) check needed.
  return text.includes('\uFFFD') && !isUtf8(buffer.subarray(0, length)) ? undefined : text
}

// Signatures get a scratch buffer of their own: verification holds one while utf8Bytes
// fills the other with the signing input. 1024 bytes fit an 8192-bit RSA signature.
const signatureScratch = Buffer.allocUnsafe(1024)

/**
 * The bytes of a (valid) base64url signature in a shared buffer: a view, valid only
 * until the next call, so the caller must use it at once. Spares an allocation per token.
 */
export function decodeSignature (segment: string): Buffer {
  const buffer = segment.length * 3 / 4 <= signatureScratch.length ? signatureScratch : Buffer.allocUnsafe(Math.ceil(segment.length * 3 / 4))
  return buffer.subarray(0, buffer.write(segment, 0, 'base64url'))
}
