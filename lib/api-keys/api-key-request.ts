import { InvalidApiKeyRequestError } from '../errors.js'
import { MAX_KEY_LIFETIME_SECONDS, MIN_KEY_LIFETIME_SECONDS } from './api-key-options.js'

/** What a user asks for when creating a key. */
export interface NewApiKey {
  /** The user's label for it: 1 to 100 characters once trimmed, no control characters. */
  name: string
  /** Catalogue scopes the user's roles grant, at most 64. */
  scopes: string[]
  /** Seconds, from 60 to apiKeys.maxLifetime. Omitted: maxLifetime (or never, when that is null). */
  expiresIn?: number | undefined
}

const MAX_NAME_LENGTH = 100
// Control characters, and lone surrogates that no database column can hold.
// Format characters too (zero-width, bidi overrides): a name must not look blank or show its text reordered.
// Zl and Zp: the line and paragraph separators (U+2028, U+2029) break a line like a newline.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u

/**
 * A name a user gives one of their credentials (an API key, a passkey), trimmed: 1 to 100
 * characters, no control or format characters; otherwise `refuse` makes the error (a 400).
 */
export function checkedLabel (name: unknown, refuse: (reason: string) => Error): string {
  if (typeof name !== 'string') throw refuse('name must be a string')
  const trimmed = name.trim()
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) throw refuse(`name must be 1 to ${MAX_NAME_LENGTH} characters`)
  if (UNPRINTABLE.test(trimmed)) throw refuse('name must not contain control or format characters')
  return trimmed
}

/** A key's name, trimmed, or 400. */
export function checkedKeyName (name: unknown): string {
  return checkedLabel(name, (reason) => new InvalidApiKeyRequestError(reason))
}

/** How long a new key lives, in seconds (null: for ever), or 400. */
export function checkedLifetime (expiresIn: unknown, maxLifetimeSeconds: number | null): number | null {
  if (expiresIn === undefined) return maxLifetimeSeconds
  const max = maxLifetimeSeconds ?? MAX_KEY_LIFETIME_SECONDS
  if (!Number.isInteger(expiresIn) || (expiresIn as number) < MIN_KEY_LIFETIME_SECONDS || (expiresIn as number) > max) {
    throw new InvalidApiKeyRequestError(`expiresIn must be a whole number of seconds from ${MIN_KEY_LIFETIME_SECONDS} to ${max}`)
  }
  return expiresIn as number
}

/** The request as an object, or 400. */
export function checkedRequest (request: unknown): Partial<Record<keyof NewApiKey, unknown>> {
  if (typeof request !== 'object' || request === null) throw new InvalidApiKeyRequestError('the request must be an object with name and scopes')
  return request
}
