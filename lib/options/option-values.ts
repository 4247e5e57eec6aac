import { InvalidOptionError } from '../errors.js'
import { shownValue } from '../shown-value.js'

/** A non-empty string option, or undefined when not given. */
export function optionalString (value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(`${name} must be a non-empty string`)
  return value
}

/** An integer option within [min, max], `fallback` when not given. */
export function integerInRange (value: unknown, name: string, fallback: number, min: number, max: number): number {
  const resolved = value ?? fallback
  if (!Number.isInteger(resolved) || (resolved as number) < min || (resolved as number) > max) {
    throw new InvalidOptionError(`${name} must be an integer from ${min} to ${max}; got ${shownValue(value)}`)
  }
  return resolved as number
}

/** A boolean option: false when not given. */
export function flag (value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidOptionError(`${name} must be true or false; got ${shownValue(value)}`)
  return value === true
}
