import { contextFields, type ActionContext, type EmitAuthEvent } from '../audit/auth-events.js'
import { nowSeconds, type Clock } from '../clock.js'
import type { AuthStore, PasskeyRecord, TotpFactor } from '../store/ports.js'
import { normaliseRecoveryCode, type RecoveryCodeHasher } from './recovery-codes.js'
import type { SecretBox } from './secret-box.js'
import { matchingStep } from './totp.js'

/** The stores the second factors live in, the sessions that change them, and the counters of wrong codes. */
export type MfaStore = Pick<AuthStore, 'users' | 'families' | 'attempts' | 'totp' | 'recoveryCodes' | 'passkeys' | 'challenges'>

/** What the factor checks share. */
export interface UserFactorParts {
  store: MfaStore
  box: SecretBox
  recoveryCodes: RecoveryCodeHasher
  clock: Clock
  emit: EmitAuthEvent
}

/** A user's second factors as they are now. */
export interface FactorState {
  /** The TOTP factor, pending or confirmed; undefined when none. */
  totp: TotpFactor | undefined
  passkeys: PasskeyRecord[]
  recoveryCodesLeft: number
}

/** Whether the user has a second factor: a confirmed TOTP authenticator or a passkey (recovery codes only back them up). */
export function hasFactor (state: Pick<FactorState, 'totp' | 'passkeys'>): boolean {
  return state.totp?.confirmedAt != null || state.passkeys.length > 0
}

/**
 * The checks of a user's codes, shared by the login's second step and the management of
 * factors: each spends what it accepts (a TOTP step, a recovery code) in one atomic store
 * call, so a code works once, on any instance.
 */
export class UserFactors {
  readonly #parts: UserFactorParts

  constructor (parts: UserFactorParts) {
    this.#parts = parts
  }

  #now (): number {
    return Math.floor(nowSeconds(this.#parts.clock))
  }

  async stateOf (userId: string): Promise<FactorState> {
    const { totp, passkeys, recoveryCodes } = this.#parts.store
    const [factor, keys, left] = await Promise.all([totp.find(userId), passkeys.listByUser(userId), recoveryCodes.countUnused(userId)])
    return { totp: factor, passkeys: keys, recoveryCodesLeft: left }
  }

  /**
   * The time step at which a code is the secret's (one spent or older is refused), or
   * undefined. `factor`: as read; a secret no configured key opens matches nothing.
   */
  matchingStep (factor: TotpFactor, code: string): number | undefined {
    const secret = this.#parts.box.open(factor.encryptedSecret, factor.userId)
    return secret === undefined ? undefined : matchingStep(secret, code, nowSeconds(this.#parts.clock), factor.lastUsedStep)
  }

  /** Checks a code against the user's confirmed TOTP factor and spends its step: true only for the one call that spent it. */
  async useTotpCode (userId: string, code: string): Promise<boolean> {
    const factor = await this.#parts.store.totp.find(userId)
    if (factor?.confirmedAt == null) return false
    const step = this.matchingStep(factor, code)
    return step !== undefined && await this.#parts.store.totp.useStep(userId, factor.encryptedSecret, step)
  }

  /** Spends one of the user's recovery codes: true only for the one call that spent it. */
  async useRecoveryCode (userId: string, typed: string, context: ActionContext): Promise<boolean> {
    const code = normaliseRecoveryCode(typed)
    if (code === undefined) return false
    const { recoveryCodes } = this.#parts.store
    for (const hash of this.#parts.recoveryCodes.candidates(code)) {
      if (await recoveryCodes.use(userId, hash, this.#now())) {
        this.#parts.emit({ type: 'mfa.recovery_code_used', userId, remaining: await recoveryCodes.countUnused(userId), ...contextFields(context) })
        return true
      }
    }
    return false
  }

  /** Replaces the user's recovery codes with a new set, and gives the codes to show (this once). */
  async newRecoveryCodes (userId: string, context: ActionContext): Promise<string[]> {
    const { codes, hashes } = this.#parts.recoveryCodes.newSet()
    await this.#parts.store.recoveryCodes.replace(userId, hashes, this.#now())
    this.#parts.emit({ type: 'mfa.recovery_codes_generated', userId, count: codes.length, ...contextFields(context) })
    return codes
  }

  /** Removes the recovery codes once the user has no factor left they back up. */
  async dropRecoveryCodesWithoutFactor (userId: string): Promise<void> {
    const { totp, passkeys } = await this.stateOf(userId)
    if (!hasFactor({ totp, passkeys })) await this.#parts.store.recoveryCodes.removeAll(userId)
  }
}
