/** bcrypt reads at most 72 bytes; longer passwords would be silently truncated. */
export const MAX_PASSWORD_BYTES = 72

const LONE_SURROGATE = /\p{Surrogate}/u

export type PasswordCheck = { ok: true, password: string } | { ok: false, reason: string }

/**
 * NFKC-normalises a password and refuses what bcrypt would mangle: a value that is
 * not a string, empty, with NUL (C strings end there), with lone surrogates (encoded as
 * U+FFFD, so different passwords would collide), or over 72 bytes once normalised.
 */
export function normalisePassword (password: unknown, minLength: number): PasswordCheck {
  if (typeof password !== 'string') return { ok: false, reason: 'it must be a string' }
  if (LONE_SURROGATE.test(password)) return { ok: false, reason: 'it is not valid Unicode text' }
  const normalised = password.normalize('NFKC')
  if (normalised.length === 0) return { ok: false, reason: 'it is empty' }
  if (normalised.includes('\0')) return { ok: false, reason: 'it contains a NUL character' }
  if ([...normalised].length < minLength) return { ok: false, reason: `it must have at least ${minLength} characters` }
  if (Buffer.byteLength(normalised, 'utf8') > MAX_PASSWORD_BYTES) {
    return { ok: false, reason: `it is longer than ${MAX_PASSWORD_BYTES} bytes once normalised (NFKC)` }
  }
  return { ok: true, password: normalised }
}
