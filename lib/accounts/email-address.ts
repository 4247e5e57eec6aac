import { InvalidUserError } from '../errors.js'

export const MAX_EMAIL_LENGTH = 254

// One @, something on each side, no white space or control characters: what a mail server
// can route. Nor RFC 5322's other specials ( ) < > [ ] : ; , \ ": mail software reads them as
// a display name, a comment, a group or a list, so "corp.com<x@evil.example>" or "a,x@evil.example"
// would be mailed (and verified) at another mailbox than the one stored. Full RFC 5321
// validation is left to the mail the address is sent.
const EMAIL_SHAPE = /^[^\s@\p{Cc}\p{Cf}()<>[\]:;,\\"]+@[^\s@\p{Cc}\p{Cf}()<>[\]:;,\\"]+$/u

/**
 * The one spelling an email address is stored and looked up by: NFKC, then lower case,
 * so that "Alice@Example.com" and "alice@example.com" are one address (every mail
 * provider in use treats them alike), and an address can belong to one user only.
 * Undefined for a value that can never be an address.
 */
export function tryNormaliseEmail (email: unknown): string | undefined {
  if (typeof email !== 'string') return undefined
  const normalised = email.normalize('NFKC').toLowerCase()
  return normalised.length <= MAX_EMAIL_LENGTH && EMAIL_SHAPE.test(normalised) ? normalised : undefined
}

/** The normalised address; throws InvalidUserError for a value that cannot be one. */
export function normaliseEmail (email: unknown): string {
  const normalised = tryNormaliseEmail(email)
  if (normalised === undefined) throw new InvalidUserError(`email must be an address (one @; no spaces, nor any of ( ) < > [ ] : ; , \\ ") of at most ${MAX_EMAIL_LENGTH} characters, or null`)
  return normalised
}
