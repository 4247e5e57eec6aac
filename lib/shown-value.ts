/**
 * Values at least this long are never echoed: a secret (32+ bytes) put in the wrong option,
 * or in an option of the wrong type, must not reach a log through the error that refuses it.
 */
const MIN_HIDDEN_LENGTH = 32

/**
 * A refused option value as an error message may show it: short strings, numbers, booleans
 * and null as written; a long string by its length; arrays, objects and functions by kind
 * (they may hold a secret too).
 */
export function shownValue (value: unknown): string {
  if (typeof value === 'string') return value.length >= MIN_HIDDEN_LENGTH ? `a string of ${value.length} characters` : JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
