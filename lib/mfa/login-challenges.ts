import { createHash, randomBytes } from 'node:crypto'
import { addressKey } from '../login/throttle-keys.js'

// 32 random bytes, base64url: what a client holds between the steps of a login.
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/

/** A new challenge: the value handed out, and its SHA-256 (hex), which alone is stored. */
export function newChallenge (): { value: string, hash: string } {
  const value = randomBytes(32).toString('base64url')
  return { value, hash: challengeHash(value) }
}

/** The SHA-256 (hex) a challenge value is stored under. */
export function challengeHash (value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/** The hash of a presented login challenge, or undefined when it cannot be one of ours. */
export function presentedChallengeHash (presented: unknown): string | undefined {
  return typeof presented === 'string' && CHALLENGE.test(presented) ? challengeHash(presented) : undefined
}

/**
 * What the second step of a login is bound to: the client address (an IPv6 /64 counts as
 * one) and the user's token version, hashed to fit the store's 200 characters. A request
 * from elsewhere, or after the user was signed out everywhere, does not match.
 */
export function loginChallengeBinding (clientAddress: string, tokenVersion: number): string {
  return createHash('sha256').update(`mfa_login\0${tokenVersion}\0${addressKey(clientAddress)}`).digest('hex')
}

/** What a passkey sign-in challenge is bound to: the client address key (at most 200 characters). */
export function addressBinding (clientAddress: string): string {
  return addressKey(clientAddress)
}
