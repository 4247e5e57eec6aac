import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { encodeBase32 } from './base32.js'

// RFC 6238 with the parameters every authenticator app supports: HMAC-SHA1, 6 digits, 30 s.
export const TOTP_PERIOD_SECONDS = 30
export const TOTP_DIGITS = 6
const SECRET_BYTES = 20
// A code from the step before or after counts too: the phone's clock may be that far off.
const ACCEPTED_DRIFT_STEPS = 1
const CODE = /^\d{6}$/

/** A new TOTP secret: 20 random bytes (160 bits, RFC 4226's recommendation for SHA-1). */
export function newTotpSecret (): Buffer {
  return randomBytes(SECRET_BYTES)
}

/** The time step (RFC 6238 T) of a time in seconds. */
export function totpStep (seconds: number): number {
  return Math.floor(seconds / TOTP_PERIOD_SECONDS)
}

/** The HOTP value (RFC 4226) of a secret at a counter, as `digits` decimal digits. */
export function totpCode (secret: Uint8Array, step: number, digits = TOTP_DIGITS): string {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(step))
  const mac = createHmac('sha1', secret).update(counter).digest()
  // Dynamic truncation: 31 bits from the offset the last nibble names.
  const offset = mac[mac.length - 1] & 0x0f
  const value = mac.readUInt32BE(offset) & 0x7fffffff
  return String(value % 10 ** digits).padStart(digits, '0')
}

/**
 * The step at which a typed code is the secret's, among the steps around `nowSeconds`
 * later than `lastUsedStep` (an earlier step's code was spent, or is too old); undefined
 * when none. Spaces are ignored (apps show `123 456`); anything but six digits is wrong.
 * Every candidate is compared in constant time, so the time taken tells nothing.
 */
export function matchingStep (secret: Uint8Array, typed: string, nowSeconds: number, lastUsedStep: number): number | undefined {
  const code = typed.replace(/\s/g, '')
  if (!CODE.test(code)) return undefined
  const now = totpStep(nowSeconds)
  let matched: number | undefined
  for (let step = now - ACCEPTED_DRIFT_STEPS; step <= now + ACCEPTED_DRIFT_STEPS; step++) {
    const equal = timingSafeEqual(Buffer.from(totpCode(secret, step)), Buffer.from(code))
    if (equal && step > lastUsedStep) matched = step
  }
  return matched
}

/** What an authenticator app scans: `otpauth://totp/<issuer>:<account>?secret=…` (Key Uri Format). */
// Authenticator apps only show the issuer and account name; cut to this many characters,
// the URI always fits a QR code (254-character usernames of 4-byte characters would not).
const MAX_SHOWN_CHARACTERS = 64

const shown = (text: string): string => encodeURIComponent(Array.from(text).slice(0, MAX_SHOWN_CHARACTERS).join(''))

export function otpauthUri (secret: Uint8Array, issuer: string, accountName: string): string {
  const label = `${shown(issuer)}:${shown(accountName)}`
  const query = `secret=${encodeBase32(secret)}&issuer=${shown(issuer)}&algorithm=SHA1&digits=${TOTP_DIGITS}&period=${TOTP_PERIOD_SECONDS}`
  return `otpauth://totp/${label}?${query}`
}
