import { InvalidOptionError } from '../errors.js'

/**
 * The names an options object may hold, written as a record over the options type so that
 * the compiler catches an option added to the type but not to the list, and the reverse.
 */
export type KnownKeys<Options> = Readonly<Record<keyof Required<Options>, true>>

/** The names of a KnownKeys record, for refuseUnknownKeys. */
export function optionNames<Options> (known: KnownKeys<Options>, ...more: string[]): readonly string[] {
  return Object.freeze([...Object.keys(known), ...more])
}

export interface UnknownKeyContext {
  /** Where the object sits, as the user wrote it: 'session', 'keys[0]'; '' for the top level. */
  path?: string | undefined
  /** Whose options these are, for objects that are not tokenAuth's: 'loginRoutes', 'createKnexStore'. */
  owner?: string | undefined
}

/** Optimal string alignment distance: edits, and swaps of neighbours, to turn `a` into `b`. */
function editDistance (a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }
  return rows[a.length][b.length]
}

/** The known name closest to a misspelt one, case aside, if any is close enough to be meant. */
export function closestKey (key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase())
    // About one slip per three letters: 'audiance' finds 'audience', 'kid' does not find 'alg'.
    if (distance <= Math.max(1, Math.floor(candidate.length / 3)) && distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/**
 * Refuses an options object holding a name that is not an option: a misspelt option
 * would otherwise be ignored in silence and its default used (`audiance` → no audience
 * check). Also refuses a value that is not a plain object where one is expected.
 */
export function refuseUnknownKeys (options: unknown, names: readonly string[], context: UnknownKeyContext = {}): void {
  const path = context.path ?? ''
  const where = (key: string): string => path === '' ? key : `${path}.${key}`
  const ofWhom = context.owner === undefined ? 'an option' : `a ${context.owner} option`
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const what = path !== '' ? path : context.owner === undefined ? 'the options' : `${context.owner} options`
    throw new InvalidOptionError(`${what} must be an object`)
  }
  for (const key of Object.keys(options)) {
    if (names.includes(key)) continue
    const suggestion = closestKey(key, names)
    throw new InvalidOptionError(`${where(key)} is not ${ofWhom}${suggestion === undefined ? '' : `; did you mean ${where(suggestion)}?`}`)
  }
}
