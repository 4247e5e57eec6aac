import { createHash, randomBytes } from 'node:crypto'
import type { AccountToken, AccountTokenPurpose } from '../store/ports.js'

const ACCOUNT_TOKEN_BYTES = 32
const ACCOUNT_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

/** SHA-256, hex: how a token is stored, and how what a token was issued against is remembered. */
export function fingerprint (value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/** What a reset link is bound to: the password hash it was issued against (any password change voids it). */
export function passwordBinding (passwordHash: string): string {
  return fingerprint(`password:${passwordHash}`)
}

/** What a verification link is bound to: the user's email when it was issued (any change of it voids the link). */
export function emailBinding (email: string | null): string {
  return fingerprint(email === null ? 'no-email' : `email:${email}`)
}

/**
 * What an email change's link is bound to: the email and the password hash when it was
 * requested. Either changing voids it, so that a password reset or change (what the notice
 * to the old address tells its owner to do) also ends a change someone else asked for.
 */
export function emailChangeBinding (email: string | null, passwordHash: string): string {
  return fingerprint(`change:${emailBinding(email)}:${passwordBinding(passwordHash)}`)
}

/** True for a string that could be an account token; anything else is refused before any lookup. */
export function looksLikeAccountToken (value: unknown): value is string {
  return typeof value === 'string' && ACCOUNT_TOKEN_SHAPE.test(value)
}

export interface AccountTokenRequest {
  purpose: AccountTokenPurpose
  userId: string
  email: string
  binding: string
  /** Seconds since the epoch. */
  now: number
  ttlSeconds: number
}

/**
 * A new single-use token: 256 random bits, base64url, for the link (never stored), and the
 * record to store, which holds only its SHA-256.
 */
export function newAccountToken ({ purpose, userId, email, binding, now, ttlSeconds }: AccountTokenRequest): { token: string, record: AccountToken } {
  const token = randomBytes(ACCOUNT_TOKEN_BYTES).toString('base64url')
  const createdAt = Math.floor(now)
  return { token, record: { hash: fingerprint(token), purpose, userId, email, binding, createdAt, expiresAt: createdAt + ttlSeconds } }
}
