import { createHmac } from 'node:crypto'

// An authenticator app as a phone runs one, written from RFC 6238 and RFC 4226 with
// node:crypto alone (not the package's own TOTP code): the tests read the secret a page or
// an answer shows, and type the codes this computes.

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const PERIOD_MS = 30_000

/** RFC 4648 base32 without padding, as the enrollment shows the key. */
export function base32Decode (text: string): Buffer {
  const bytes: number[] = []
  let buffer = 0
  let bits = 0
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    const value = BASE32.indexOf(char)
    if (value === -1) throw new Error(`not base32: ${char}`)
    buffer = ((buffer << 5) | value) & 0xffff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      bytes.push((buffer >>> bits) & 0xff)
    }
  }
  return Buffer.from(bytes)
}

/** HOTP (RFC 4226 §5.3): HMAC-SHA1 of the 8-byte counter, dynamic truncation, 6 digits. */
export function hotp (key: Buffer, counter: number): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', key).update(message).digest()
  const offset = mac[mac.length - 1] & 0x0f
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3]
  return String(binary % 1_000_000).padStart(6, '0')
}

/**
 * One enrolled app. The server takes a code of the current step or a neighbour, each step
 * once: `nextCode()` gives the code of the current step, or of the next one when the current
 * one was used, so that a test never waits for the clock (two codes per 30 s at most).
 */
export class AuthenticatorApp {
  readonly #key: Buffer
  #lastStep = -1

  constructor (base32Secret: string) {
    this.#key = base32Decode(base32Secret)
  }

  /** Six digits the server cannot take now: none of the codes of the steps it accepts. */
  wrongCode (now = Date.now()): string {
    const step = Math.floor(now / PERIOD_MS)
    const near = new Set([-1, 0, 1, 2].map((offset) => hotp(this.#key, step + offset)))
    for (let candidate = 0; ; candidate++) {
      const code = String(candidate).padStart(6, '0')
      if (!near.has(code)) return code
    }
  }

  nextCode (now = Date.now()): string {
    const step = Math.max(Math.floor(now / PERIOD_MS), this.#lastStep + 1)
    this.#lastStep = step
    return hotp(this.#key, step)
  }
}
