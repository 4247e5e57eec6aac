import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'

const MIN_KEY_BYTES = 32
const NONCE_BYTES = 16
// base64url of 16 random bytes, a dot, base64url of a 32-byte HMAC-SHA256.
const DEVICE_TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/

/**
 * Device tokens, as OWASP's "Slow down online guessing attacks with device cookies"
 * describes: a browser that has signed in to an account gets a token binding that
 * username to a random nonce, and its later logins are throttled on the nonce instead
 * of the account. An attacker who locks the account out locks out new browsers only;
 * browsers that signed in before keep signing in, each with its own limit.
 */
export class DeviceTokens {
  readonly #keys: readonly Buffer[]

  /**
   * `key`: the HMAC-SHA256 key, at least 32 bytes, secret like a token signing key; or a
   * list of them (key rotation): tokens are issued under the first and accepted under each.
   */
  constructor (key: string | Uint8Array | ReadonlyArray<string | Uint8Array>) {
    const keys = Array.isArray(key) ? key as ReadonlyArray<string | Uint8Array> : [key as string | Uint8Array]
    if (keys.length === 0) throw new InvalidOptionError('deviceTokenKey must name at least one key')
    this.#keys = keys.map((one) => {
      const bytes = typeof one === 'string' ? Buffer.from(one, 'utf8') : Buffer.from(one)
      if (bytes.length < MIN_KEY_BYTES) throw new InvalidOptionError(`deviceTokenKey must have at least ${MIN_KEY_BYTES} bytes`)
      return bytes
    })
  }

  #mac (username: string, nonce: string, key = this.#keys[0]): Buffer {
    // A normalised username has no control character, so the NUL separates unambiguously.
    return createHmac('sha256', key).update(`device-token\0${nonce}\0${username}`).digest()
  }

  /** A new token for a normalised username, with a fresh nonce. */
  issue (username: string): string {
    const nonce = randomBytes(NONCE_BYTES).toString('base64url')
    return `${nonce}.${this.#mac(username, nonce).toString('base64url')}`
  }

  /** The nonce of a token issued for this normalised username, or undefined (compared in constant time). */
  verify (token: unknown, username: string): string | undefined {
    const match = typeof token === 'string' ? DEVICE_TOKEN.exec(token) : null
    if (match === null) return undefined
    const [, nonce, mac] = match
    const presented = Buffer.from(mac, 'base64url')
    // A non-canonical spelling of the MAC (stray low bits in the last character) is refused.
    if (presented.toString('base64url') !== mac) return undefined
    // Every key is tried, so the time taken tells nothing about which one matched.
    let matched = false
    for (const key of this.#keys) matched = timingSafeEqual(presented, this.#mac(username, nonce, key)) || matched
    return matched ? nonce : undefined
  }
}
