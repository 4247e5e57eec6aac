import { InvalidOptionError } from './errors.js'
import { shownValue } from './shown-value.js'

/** A length of time: a number of seconds, or a string such as `'15m'`, `'250ms'`, `'7d'`. */
export type Duration = number | string

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400
}

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/

function parseSeconds (value: Duration): number {
  if (typeof value === 'number') return value
  if (typeof value !== 'string') return Number.NaN
  const match = DURATION_PATTERN.exec(value.trim())
  return match === null ? Number.NaN : Number(match[1]) * UNIT_SECONDS[match[2]]
}

/**
 * Turns a Duration into seconds and refuses anything outside [min, max].
 * `name` goes into the message so that a bad option is reported by the name the user wrote.
 */
export function toSeconds (value: Duration, name: string, min = Number.MIN_VALUE, max = Number.MAX_SAFE_INTEGER): number {
  const seconds = parseSeconds(value)
  if (!Number.isFinite(seconds)) {
    throw new InvalidOptionError(`${name} must be a number of seconds or a string such as '15m' (units ms, s, m, h, d); got ${shownValue(value)}`)
  }
  if (seconds < min || seconds > max) {
    const lower = min === Number.MIN_VALUE ? 'above 0' : `at least ${min}`
    throw new InvalidOptionError(`${name} must be ${lower} and at most ${max} seconds; got ${shownValue(value)}`)
  }
  return seconds
}
