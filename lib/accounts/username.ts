import { InvalidUsernameError } from '../errors.js'

export const MAX_USERNAME_LENGTH = 254

const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

/**
 * The one spelling a username is stored and looked up by: NFKC, then lower case, so
 * that "Alice", "ALICE" and "Ａｌｉｃｅ" are one account. Throws for values that
 * cannot be a username (empty, too long, surrounding spaces, control characters).
 */
export function normaliseUsername (username: unknown): string {
  if (typeof username !== 'string') throw new InvalidUsernameError('it must be a string')
  const normalised = username.normalize('NFKC').toLowerCase()
  if (normalised.length === 0) throw new InvalidUsernameError('it is empty')
  if (normalised.length > MAX_USERNAME_LENGTH) throw new InvalidUsernameError(`it is longer than ${MAX_USERNAME_LENGTH} characters`)
  if (normalised.trim() !== normalised) throw new InvalidUsernameError('it starts or ends with white space')
  if (CONTROL_OR_FORMAT.test(normalised)) throw new InvalidUsernameError('it contains control characters')
  return normalised
}

/** The normalised username, or undefined for a value that can never be one (a lookup simply misses). */
export function tryNormaliseUsername (username: unknown): string | undefined {
  try {
    return normaliseUsername(username)
  } catch {
    return undefined
  }
}
