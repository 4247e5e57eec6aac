import { InvalidOptionError } from '../errors.js'
import { estimateSecretBits, MIN_SECRET_BITS } from './secret-strength.js'

/** Whether a guessable secret of the minimum length may be used: readable secrets belong in tests. */
export interface WeakSecretPolicy {
  /** True under NODE_ENV=production, where nothing weak is accepted. */
  readonly production: boolean
  /**
   * Present when guessable secrets are accepted: told the option name of each one, so that
   * startup warns once. Absent: they are refused.
   */
  readonly acceptWeak?: ((name: string) => void) | undefined
}

export const GENERATE_SECRET_HINT = 'node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"'

/** Refuses every guessable secret; for code that builds keys without options (tests, benchmarks). */
export const STRICT_SECRET_POLICY: WeakSecretPolicy = { production: false }

/**
 * `allowWeakSecret` defaults to true under NODE_ENV=test and false otherwise; under
 * NODE_ENV=production a guessable secret is always refused and asking for one is a mistake.
 */
export function weakSecretPolicy (allowWeakSecret: unknown, onWeakSecret: (name: string) => void, nodeEnv = process.env.NODE_ENV): WeakSecretPolicy {
  if (allowWeakSecret !== undefined && typeof allowWeakSecret !== 'boolean') throw new InvalidOptionError('allowWeakSecret must be true or false')
  // 'Production' or ' production' (a stray space in a .env file) still means production here.
  const production = nodeEnv?.trim().toLowerCase() === 'production'
  if (production && allowWeakSecret === true) {
    throw new InvalidOptionError('allowWeakSecret cannot be true when NODE_ENV is \'production\': a readable secret lets anyone who guesses it forge tokens')
  }
  const allowWeak = !production && (allowWeakSecret ?? nodeEnv === 'test')
  return allowWeak ? { production, acceptWeak: onWeakSecret } : { production }
}

/** Refuses a secret whose estimated guessing work is below MIN_SECRET_BITS, unless the policy allows it. */
export function checkSecretStrength (secret: Buffer, name: string, policy: WeakSecretPolicy): void {
  const bits = estimateSecretBits(secret)
  if (bits >= MIN_SECRET_BITS) return
  if (policy.acceptWeak !== undefined) {
    policy.acceptWeak(name)
    return
  }
  const testHint = policy.production ? '' : '; a test may keep a readable one with NODE_ENV=test or allowWeakSecret: true'
  throw new InvalidOptionError(`${name} looks like words or a pattern: estimated ${Math.floor(bits)} bits of guessing work, need ${MIN_SECRET_BITS}. Use random bytes, generated with: ${GENERATE_SECRET_HINT}${testHint}`)
}

/** The one startup warning for guessable secrets accepted in a test setup; names only, never a secret. */
export function weakSecretWarning (names: readonly string[]): string {
  return `${names.join(', ')} ${names.length === 1 ? 'is a guessable secret' : 'are guessable secrets'}, accepted because NODE_ENV=test or allowWeakSecret is set: anyone who guesses it can forge tokens, so never deploy it`
}
