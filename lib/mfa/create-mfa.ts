import type { EmitAuthEvent } from '../audit/auth-events.js'
import type { Clock } from '../clock.js'
import type { PasswordLogin } from '../login/password-login.js'
import { RateLimit } from '../sessions/rate-limit.js'
import { CodeGuessLimit } from './code-guess-limit.js'
import { MfaLogin } from './mfa-login.js'
import type { ResolvedMfaOptions } from './mfa-options.js'
import { PasskeyCeremonies } from './passkey-ceremonies.js'
import { RecoveryCodeHasher } from './recovery-codes.js'
import { SecondFactors } from './second-factors.js'
import { SecretBox } from './secret-box.js'
import { UserFactors, type MfaStore } from './user-factors.js'

/** What the core shares with its second factors. */
export interface MfaEnvironment {
  store: MfaStore
  login: PasswordLogin
  clock: Clock
  emit: EmitAuthEvent
  /** The issuer authenticator apps show when `mfa.issuer` is not set (tokenAuth passes its realm). */
  productName: string
}

/** The core's second factors: the user's management of them, and the logins that use them. */
export interface Mfa {
  factors: SecondFactors
  login: MfaLogin
}

// WebAuthn options one client address may ask for per minute on one instance: each writes a challenge.
const PASSKEY_OPTIONS_PER_MINUTE = 30

/** The second factors, when the `mfa` option turned them on. */
export function createMfa (options: ResolvedMfaOptions | undefined, { store, login, clock, emit, productName }: MfaEnvironment): Mfa | undefined {
  if (options === undefined) return undefined
  const issuer = options.issuer ?? productName
  const box = new SecretBox(options.keys)
  const factors = new UserFactors({ store, box, recoveryCodes: new RecoveryCodeHasher(options.keys), clock, emit })
  const passkeys = options.passkeys
  const ceremonies = passkeys === undefined
    ? undefined
    : new PasskeyCeremonies({ rpId: passkeys.rpId, rpName: passkeys.rpName ?? issuer, origins: passkeys.origins, timeoutSeconds: options.challengeTtlSeconds })
  const parts = { store, clock, emit, factors, login, ceremonies, challengeTtlSeconds: options.challengeTtlSeconds }
  return {
    factors: new SecondFactors({
      ...parts,
      box,
      issuer,
      maxPasskeysPerUser: passkeys?.maxPerUser ?? 0
    }),
    login: new MfaLogin({
      ...parts,
      optionsPerAddress: new RateLimit({ limit: PASSKEY_OPTIONS_PER_MINUTE, windowSeconds: 60, maxKeys: 100_000 }, clock),
      codeGuesses: new CodeGuessLimit(store.attempts, options.maxCodeFailuresPerDay, clock)
    })
  }
}
