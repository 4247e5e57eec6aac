import { hash, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { InvalidOptionError } from '../errors.js'
import { shownValue } from '../shown-value.js'

// The format, like GitHub's and Stripe's: a prefix naming the product and environment,
// 256 random bits in base62 (43 characters), and a CRC32 of both in base62 (6
// characters). A secret scanner or a typo check recognises a key offline; the server
// refuses a mistyped one without a lookup.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const SECRET_BYTES = 32
const SECRET_LENGTH = 43
const CHECKSUM_LENGTH = 6
/** Characters of the secret shown in lists after the prefix. */
const SHOWN_LENGTH = 6
const ID_LENGTH = 16

/** `fta_live_`: lower-case letters and digits, one or two parts, each ending in `_`. */
const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,15}_(?:[a-z0-9]{1,15}_)?$/
export const DEFAULT_API_KEY_PREFIX = 'fta_live_'

export function checkedPrefix (prefix: unknown): string {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new InvalidOptionError(`apiKeys.prefix must be lower-case letters and digits in one or two parts, each ending in _ (like 'acme_live_'); got ${shownValue(prefix)}`)
  }
  return prefix
}

function base62 (value: bigint, length: number): string {
  let text = ''
  for (let left = value; text.length < length; left /= 62n) text = ALPHABET[Number(left % 62n)] + text
  return text
}

const checksumOf = (text: string): string => base62(BigInt(crc32(text)), CHECKSUM_LENGTH)

/** The regular expression secret scanners can use for keys with this prefix. */
export function keyPattern (prefix: string): RegExp {
  return new RegExp(`^${prefix}[0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}}$`)
}

/** SHA-256 (hex) of a key: what the store keeps and looks keys up by. */
export function hashKey (key: string): string {
  // The one-shot hash: no Hash object per request, about twice as fast on a cached key's path.
  return hash('sha256', key, 'hex')
}

export interface NewKeyMaterial {
  /** The key as the user receives it, once. */
  key: string
  hash: string
  /** The prefix and the secret's first characters, for lists. */
  start: string
}

export function generateKey (prefix: string): NewKeyMaterial {
  const secret = base62(BigInt(`0x${randomBytes(SECRET_BYTES).toString('hex')}`), SECRET_LENGTH)
  const key = `${prefix}${secret}${checksumOf(prefix + secret)}`
  return { key, hash: hashKey(key), start: key.slice(0, prefix.length + SHOWN_LENGTH) }
}

/** A short random public id for a key (about 95 bits). */
export function generateKeyId (): string {
  return base62(BigInt(`0x${randomBytes(12).toString('hex')}`), ID_LENGTH)
}

/**
 * Whether `text` is a well-formed key with this prefix and a right checksum: what can be
 * told without the store. `text` is known to start with the prefix.
 */
export function isWellFormedKey (text: string, prefix: string, pattern: RegExp): boolean {
  if (!pattern.test(text)) return false
  const checked = text.length - CHECKSUM_LENGTH
  return checksumOf(text.slice(0, checked)) === text.slice(checked)
}
