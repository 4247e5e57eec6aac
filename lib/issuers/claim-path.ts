import { InvalidOptionError } from '../errors.js'
import { shownValue } from '../shown-value.js'

/** Where a value comes from in a token's claims: a dot path, or a function for anything else. */
export type ClaimSource = string | ((claims: Readonly<Record<string, unknown>>) => unknown)

/** Reads a source's value from a token's claims; undefined when there is none. */
export type ClaimReader = (claims: Readonly<Record<string, unknown>>) => unknown

/**
 * Most roles or scopes kept from one token: the token is the client's to shape (through the
 * issuer), and an IdP that puts thousands of groups in it must not make every request
 * allocate and search that many.
 */
export const MAX_CLAIM_ENTRIES = 256

/**
 * Follows `segments` through own properties only: '__proto__' or 'constructor' in a path
 * never reaches Object.prototype, and an array is a value, never indexed ('roles.0' is nothing).
 */
function readPath (claims: Readonly<Record<string, unknown>>, segments: readonly string[]): unknown {
  let value: unknown = claims
  for (const segment of segments) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, segment)) return undefined
    value = (value as Record<string, unknown>)[segment]
  }
  return value
}

/**
 * Checks a ClaimSource option and compiles it once. A function is called as is, and an error
 * it throws propagates unchanged: it is a bug in the application, not a bad token.
 */
export function claimReader (source: unknown, name: string): ClaimReader {
  if (typeof source === 'function') return source as ClaimReader
  if (typeof source !== 'string') throw new InvalidOptionError(`${name} must be a claim path such as 'realm_access.roles' or a function (claims) => value; got ${shownValue(source)}`)
  const segments = source.split('.')
  if (segments.some((segment) => segment === '')) throw new InvalidOptionError(`${name} must be a claim path such as 'realm_access.roles', with no empty part; got ${shownValue(source)}`)
  // A namespaced claim ('https://example.com/roles') would be split at the dots of its host
  // and silently find nothing: say so at startup instead.
  if (source.includes('://')) throw new InvalidOptionError(`${name} looks like a namespaced claim name, which a dot path would split at its dots; use a function: (claims) => claims[${shownValue(source)}]`)
  return (claims) => readPath(claims, segments)
}

/** Keeps distinct entries in order, up to MAX_CLAIM_ENTRIES. */
function distinct (entries: Iterable<string>): string[] {
  const kept = new Set<string>()
  for (const entry of entries) {
    if (kept.size === MAX_CLAIM_ENTRIES) break
    kept.add(entry)
  }
  return [...kept]
}

/** Non-empty strings of an array, except those `refused`; read lazily like the rest. */
function * nonEmptyStrings (values: readonly unknown[], refused = (entry: string) => false): Generator<string> {
  for (const value of values) if (typeof value === 'string' && value !== '' && !refused(value)) yield value
}

/** Space-separated parts of a string, read lazily so a long value is not split whole. */
function * spaceSeparated (value: string): Generator<string> {
  let start = 0
  while (start <= value.length) {
    const end = value.indexOf(' ', start)
    const stop = end === -1 ? value.length : end
    if (stop > start) yield value.slice(start, stop)
    start = stop + 1
  }
}

/**
 * Roles from a source's value: one string is one role, an array gives its non-empty strings;
 * anything else (number, object, null) gives none. Never throws on the token's shape.
 */
export function rolesFrom (value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value]
  return Array.isArray(value) ? distinct(nonEmptyStrings(value)) : []
}

/**
 * Scopes from a source's value: a space-separated string (RFC 6749 §3.3) or an array of
 * strings. An array entry holding a space is dropped: joined into the one `scope` string it
 * would turn into scopes the issuer never listed.
 */
export function scopesFrom (value: unknown): string[] {
  if (typeof value === 'string') return distinct(spaceSeparated(value))
  if (!Array.isArray(value)) return []
  return distinct(nonEmptyStrings(value, (entry) => entry.includes(' ')))
}
