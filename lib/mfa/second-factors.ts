import QRCode from 'qrcode'
import { contextFields, type ActionContext } from '../audit/auth-events.js'
import { checkedLabel } from '../api-keys/api-key-request.js'
import { nowSeconds } from '../clock.js'
import { InvalidMfaRequestError, MfaCodeInvalidError, MfaConflictError, MfaRequiredError, PasskeyLimitError, PasskeyNotFoundError, TokenRevokedError } from '../errors.js'
import type { PasswordLogin } from '../login/password-login.js'
import type { PasskeyRecord, UserRecord } from '../store/ports.js'
import { hasSecondFactor } from './amr.js'
import { encodeBase32 } from './base32.js'
import { challengeHash, newChallenge } from './login-challenges.js'
import type { PasskeyCeremonies, PublicKeyCredentialCreationOptionsJSON } from './passkey-ceremonies.js'
import { checkedRegistrationResponse, signedChallenge } from './passkey-response.js'
import { newTotpSecret, otpauthUri } from './totp.js'
import { hasFactor, type FactorState, type UserFactorParts, type UserFactors } from './user-factors.js'

/**
 * Who asks, from an access token: its `sub`, `sid` and `amr`, the client address, and the
 * browser's device token (a password confirmation is throttled like a login).
 */
export interface MfaContext {
  userId: string
  /** The token's session; changes need one (a token without `sid` did not come from a login). */
  sessionId: string | undefined
  /** The token's `amr`. */
  authMethods: readonly string[] | undefined
  address: string
  deviceToken?: string | undefined
}

/** A passkey as the user's list shows it: never its key. Times in seconds. */
export interface PasskeyView {
  id: string
  name: string
  createdAt: number
  lastUsedAt: number | null
  backedUp: boolean
  deviceType: 'singleDevice' | 'multiDevice'
  transports: string[]
}

export interface MfaStatus {
  /** `pending`: enrolled, not yet confirmed by a first code (it does not count as a factor). */
  totp: 'off' | 'pending' | 'on'
  recoveryCodesLeft: number
  passkeys: PasskeyView[]
}

/** A new TOTP enrollment: the secret for the user's app, as text (base32), as a URI, and as a QR code (SVG). */
export interface TotpEnrollment {
  secret: string
  uri: string
  qrSvg: string
}

/** How turning TOTP off is proven: a current code, or a recovery code. */
export type TotpDisableProof = { code: string } | { recoveryCode: string }

export interface SecondFactorParts extends Omit<UserFactorParts, 'recoveryCodes'> {
  login: PasswordLogin
  factors: UserFactors
  /** Undefined when passkeys are off. */
  ceremonies: PasskeyCeremonies | undefined
  /** The name authenticator apps show. */
  issuer: string
  maxPasskeysPerUser: number
  challengeTtlSeconds: number
}

export function passkeyViewOf (passkey: PasskeyRecord): PasskeyView {
  const { id, name, createdAt, lastUsedAt, backedUp, deviceType, transports } = passkey
  return { id, name, createdAt, lastUsedAt, backedUp, deviceType, transports: [...transports] }
}

function checkedPasskeyName (name: unknown): string {
  return checkedLabel(name, (reason) => new InvalidMfaRequestError(reason))
}

function eventContext (context: MfaContext): ActionContext {
  return contextFields({ sessionId: context.sessionId, address: context.address })
}

/**
 * A user's second factors, managed by the user: TOTP, recovery codes and passkeys. Every
 * change needs a session token, and once the user has a second factor a session signed
 * in with one (403 MfaRequiredError otherwise): a stolen password alone cannot add a
 * factor or take one away. Changes that could lock the user out ask for the current
 * password too, checked and throttled like a login.
 */
export class SecondFactors {
  readonly #parts: SecondFactorParts

  constructor (parts: SecondFactorParts) {
    this.#parts = parts
  }

  #now (): number {
    return Math.floor(nowSeconds(this.#parts.clock))
  }

  async #user (userId: string): Promise<UserRecord> {
    const user = await this.#parts.store.users.findById(userId)
    if (user === undefined || user.disabled) throw new TokenRevokedError()
    return user
  }

  /**
   * The user and their factors, when this context may change them. The session must still
   * hold in the store, not only in this instance's view of the revocations (which may lag by
   * revocation.maxStaleness): a factor outlives the token that added it, so a session ended
   * by a password change or a log-out-everywhere on another instance must not add one.
   */
  async #changer (context: MfaContext): Promise<{ user: UserRecord, state: FactorState }> {
    if (context.sessionId === undefined) throw new MfaRequiredError()
    const user = await this.#user(context.userId)
    const session = (await this.#parts.store.families.listByUser(user.id, this.#now())).find((family) => family.id === context.sessionId)
    if (session === undefined || session.tokenVersion !== user.tokenVersion) throw new TokenRevokedError()
    const state = await this.#parts.factors.stateOf(user.id)
    if (hasFactor(state) && !hasSecondFactor(context.authMethods)) throw new MfaRequiredError()
    return { user, state }
  }

  async #confirmPassword (user: UserRecord, currentPassword: string, context: MfaContext): Promise<void> {
    await this.#parts.login.confirmPassword(user, currentPassword, context.address, context.deviceToken)
  }

  #ceremonies (): PasskeyCeremonies {
    const ceremonies = this.#parts.ceremonies
    if (ceremonies === undefined) throw new InvalidMfaRequestError('passkeys are not enabled')
    return ceremonies
  }

  async status (context: Pick<MfaContext, 'userId'>): Promise<MfaStatus> {
    const state = await this.#parts.factors.stateOf(context.userId)
    return {
      totp: state.totp === undefined ? 'off' : state.totp.confirmedAt === null ? 'pending' : 'on',
      recoveryCodesLeft: state.recoveryCodesLeft,
      passkeys: state.passkeys.map(passkeyViewOf)
    }
  }

  /** Starts a TOTP enrollment (replacing a pending one); 409 when TOTP is on already. */
  async beginTotp (context: MfaContext, currentPassword: string): Promise<TotpEnrollment> {
    const { user, state } = await this.#changer(context)
    if (state.totp?.confirmedAt != null) throw new MfaConflictError('TOTP is on already; turn it off first')
    await this.#confirmPassword(user, currentPassword, context)
    const secret = newTotpSecret()
    const staged = await this.#parts.store.totp.stage({ userId: user.id, encryptedSecret: this.#parts.box.seal(secret, user.id), createdAt: this.#now(), confirmedAt: null, lastUsedStep: 0 })
    if (!staged) throw new MfaConflictError('TOTP is on already; turn it off first')
    const uri = otpauthUri(secret, this.#parts.issuer, user.username)
    return { secret: encodeBase32(secret), uri, qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'L' }) }
  }

  /**
   * Confirms the pending enrollment with a first code from the app: TOTP is then on. A wrong
   * code is 401 MfaCodeInvalidError, counted like a wrong password. A new set of recovery
   * codes when the user had none left.
   */
  async confirmTotp (context: MfaContext, code: string): Promise<{ recoveryCodes: string[] | undefined }> {
    const { user, state } = await this.#changer(context)
    const pending = state.totp
    if (pending === undefined || pending.confirmedAt !== null) throw new MfaConflictError('no TOTP enrollment is pending')
    if (typeof code !== 'string' || code.length > 64) throw new InvalidMfaRequestError('a code must be a string of at most 64 characters')
    const step = await this.#parts.login.checkFactor(user, context.address, context.deviceToken, async () => {
      const matched = this.#parts.factors.matchingStep(pending, code)
      if (matched !== undefined) return matched
      this.#parts.emit({ type: 'login.failed', userId: user.id, username: user.username, reason: 'mfa_code', address: context.address })
      throw new MfaCodeInvalidError()
    })
    if (!await this.#parts.store.totp.confirm(user.id, pending.encryptedSecret, step, this.#now())) throw new MfaConflictError('the TOTP enrollment changed meanwhile; start again')
    this.#parts.emit({ type: 'mfa.totp_enabled', userId: user.id, ...eventContext(context) })
    return { recoveryCodes: state.recoveryCodesLeft > 0 ? undefined : await this.#parts.factors.newRecoveryCodes(user.id, eventContext(context)) }
  }

  /** Turns TOTP off, proven by the password and a current code or a recovery code. The last factor gone, recovery codes go too. */
  async disableTotp (context: MfaContext, currentPassword: string, proof: TotpDisableProof): Promise<void> {
    const { user, state } = await this.#changer(context)
    if (state.totp?.confirmedAt == null) throw new MfaConflictError('TOTP is not on')
    const { code, recoveryCode } = (typeof proof === 'object' && proof !== null ? proof : {}) as Partial<Record<'code' | 'recoveryCode', unknown>>
    const value = code ?? recoveryCode
    if ((code === undefined) === (recoveryCode === undefined) || typeof value !== 'string' || value.length > 64) {
      throw new InvalidMfaRequestError('send a code or a recovery code (a string of at most 64 characters)')
    }
    await this.#confirmPassword(user, currentPassword, context)
    await this.#parts.login.checkFactor(user, context.address, context.deviceToken, async () => {
      const proven = code !== undefined
        ? await this.#parts.factors.useTotpCode(user.id, value)
        : await this.#parts.factors.useRecoveryCode(user.id, value, eventContext(context))
      if (proven) return
      this.#parts.emit({ type: 'login.failed', userId: user.id, username: user.username, reason: 'mfa_code', address: context.address })
      throw new MfaCodeInvalidError()
    })
    await this.#parts.store.totp.remove(user.id)
    await this.#parts.factors.dropRecoveryCodesWithoutFactor(user.id)
    this.#parts.emit({ type: 'mfa.totp_disabled', userId: user.id, ...eventContext(context) })
  }

  /** A new set of recovery codes, voiding the old one; 409 when the user has no factor for them to back up. */
  async regenerateRecoveryCodes (context: MfaContext, currentPassword: string): Promise<string[]> {
    const { user, state } = await this.#changer(context)
    if (!hasFactor(state)) throw new MfaConflictError('recovery codes back up a second factor: turn one on first')
    await this.#confirmPassword(user, currentPassword, context)
    return await this.#parts.factors.newRecoveryCodes(user.id, eventContext(context))
  }

  /** WebAuthn creation options for a new passkey, bound to this session. */
  async passkeyRegistrationOptions (context: MfaContext, currentPassword: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const ceremonies = this.#ceremonies()
    const { user, state } = await this.#changer(context)
    if (state.passkeys.length >= this.#parts.maxPasskeysPerUser) throw new PasskeyLimitError()
    await this.#confirmPassword(user, currentPassword, context)
    const { value, hash } = newChallenge()
    const now = this.#now()
    await this.#parts.store.challenges.insert({
      hash,
      purpose: 'passkey_registration',
      userId: user.id,
      binding: context.sessionId as string,
      createdAt: now,
      expiresAt: now + this.#parts.challengeTtlSeconds
    })
    return await ceremonies.registrationOptions(user, state.passkeys, value)
  }

  /**
   * Registers the passkey the browser created for options from passkeyRegistrationOptions
   * (in this session). A response that does not verify is 400. With the user's first
   * factor, recovery codes too (when they have none).
   */
  async registerPasskey (context: MfaContext, name: string, response: unknown): Promise<{ passkey: PasskeyView, recoveryCodes: string[] | undefined }> {
    const ceremonies = this.#ceremonies()
    const label = checkedPasskeyName(name)
    const checked = checkedRegistrationResponse(response)
    const challenge = signedChallenge(checked)
    const { user, state } = await this.#changer(context)
    const { challenges, passkeys } = this.#parts.store
    // Spent before anything is verified: a registration challenge works once, whatever the outcome.
    const stored = await challenges.consume(challengeHash(challenge), 'passkey_registration', this.#now())
    const verified = stored === undefined || stored.binding !== context.sessionId || stored.userId !== user.id
      ? undefined
      : await ceremonies.verifyRegistration(checked, challenge)
    if (verified === undefined) throw new InvalidMfaRequestError('the passkey did not verify; ask for new options and try again')
    const passkey: PasskeyRecord = { ...verified, userId: user.id, name: label, createdAt: this.#now(), lastUsedAt: null }
    if (!await passkeys.insert(passkey, this.#parts.maxPasskeysPerUser)) {
      if (await passkeys.findById(passkey.id) !== undefined) throw new MfaConflictError('this passkey is registered already')
      if ((await passkeys.listByUser(user.id)).length >= this.#parts.maxPasskeysPerUser) throw new PasskeyLimitError()
      throw new TokenRevokedError()
    }
    this.#parts.emit({ type: 'passkey.added', userId: user.id, passkeyId: passkey.id, ...eventContext(context) })
    const firstFactor = !hasFactor(state) && state.recoveryCodesLeft === 0
    return { passkey: passkeyViewOf(passkey), recoveryCodes: firstFactor ? await this.#parts.factors.newRecoveryCodes(user.id, eventContext(context)) : undefined }
  }

  /** Renames one of the user's passkeys; 404 for another user's or an unknown one. */
  async renamePasskey (context: MfaContext, id: string, name: string): Promise<PasskeyView> {
    const label = checkedPasskeyName(name)
    const { user } = await this.#changer(context)
    if (typeof id !== 'string' || !await this.#parts.store.passkeys.rename(user.id, id, label)) throw new PasskeyNotFoundError()
    this.#parts.emit({ type: 'passkey.renamed', userId: user.id, passkeyId: id, ...eventContext(context) })
    const renamed = (await this.#parts.store.passkeys.listByUser(user.id)).find((passkey) => passkey.id === id)
    // Removed between the rename and the read.
    if (renamed === undefined) throw new PasskeyNotFoundError()
    return passkeyViewOf(renamed)
  }

  /** Removes one of the user's passkeys; 404 for another user's or an unknown one. The last factor gone, recovery codes go too. */
  async removePasskey (context: MfaContext, currentPassword: string, id: string): Promise<void> {
    const { user } = await this.#changer(context)
    await this.#confirmPassword(user, currentPassword, context)
    if (typeof id !== 'string' || !await this.#parts.store.passkeys.remove(user.id, id)) throw new PasskeyNotFoundError()
    await this.#parts.factors.dropRecoveryCodesWithoutFactor(user.id)
    this.#parts.emit({ type: 'passkey.removed', userId: user.id, passkeyId: id, ...eventContext(context) })
  }
}
