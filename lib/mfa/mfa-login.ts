import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import type { EmitAuthEvent } from '../audit/auth-events.js'
import { nowSeconds, type Clock } from '../clock.js'
import { InvalidMfaRequestError, MfaChallengeInvalidError, MfaCodeInvalidError, PasskeyInvalidError } from '../errors.js'
import type { PasswordLogin } from '../login/password-login.js'
import type { RateLimit } from '../sessions/rate-limit.js'
import type { Challenge, FoundPasskey, UserRecord } from '../store/ports.js'
import { clientAddressKey } from '../login/client-address.js'
import { AUTH_METHODS } from './amr.js'
import { addressBinding, challengeHash, loginChallengeBinding, newChallenge, presentedChallengeHash } from './login-challenges.js'
import { userHandleOf, type PasskeyCeremonies, type PublicKeyCredentialRequestOptionsJSON } from './passkey-ceremonies.js'
import { checkedAuthenticationResponse, signedChallenge } from './passkey-response.js'
import { hasFactor, type MfaStore, type UserFactors } from './user-factors.js'

/** A way to pass the second step of a login. */
export type MfaMethod = 'totp' | 'recovery_code' | 'passkey'

/** The pending second step of a login, as the client gets it. */
export interface MfaChallenge {
  /** What the client sends back with the second step (single use, bound to its address). */
  token: string
  /** Seconds the second step may take. */
  expiresIn: number
  /** What the user can pass it with. */
  methods: MfaMethod[]
}

/** The second step of a login: the challenge and exactly one of code, recoveryCode, passkey. */
export interface MfaLoginStep {
  challenge: unknown
  /** A TOTP code from the user's authenticator app. */
  code?: unknown
  recoveryCode?: unknown
  /** A passkey assertion (navigator.credentials.get, as JSON), for options from mfaPasskeyOptions. */
  passkey?: unknown
  clientAddress: string
  deviceToken?: string | undefined
  userAgent?: string | undefined
}

/** A passkey sign-in: an assertion for options from passkeyLoginOptions. */
export interface PasskeyLoginAttempt {
  response: unknown
  clientAddress: string
  deviceToken?: string | undefined
  userAgent?: string | undefined
}

/** Who passed, and how (the session's `amr`). */
export interface ProvenLogin {
  user: UserRecord
  authMethods: readonly string[]
}

export interface MfaLoginParts {
  store: MfaStore
  login: PasswordLogin
  factors: UserFactors
  /** Undefined when passkeys are off. */
  ceremonies: PasskeyCeremonies | undefined
  /** WebAuthn options asked per client address: each writes a challenge. */
  optionsPerAddress: RateLimit
  challengeTtlSeconds: number
  clock: Clock
  emit: EmitAuthEvent
}

type Proof = { kind: 'code', value: string } | { kind: 'recoveryCode', value: string } | { kind: 'passkey', response: AuthenticationResponseJSON, challenge: string }

/** Exactly one proof, well formed (400 otherwise, before anything is counted). */
function checkedProof ({ code, recoveryCode, passkey }: MfaLoginStep): Proof {
  const given = [code, recoveryCode, passkey].filter((value) => value !== undefined)
  if (given.length !== 1) throw new InvalidMfaRequestError('send exactly one of code, recoveryCode and passkey')
  if (passkey !== undefined) {
    const response = checkedAuthenticationResponse(passkey)
    return { kind: 'passkey', response, challenge: signedChallenge(response) }
  }
  const value = code ?? recoveryCode
  if (typeof value !== 'string' || value.length > 64) throw new InvalidMfaRequestError('a code must be a string of at most 64 characters')
  return code !== undefined ? { kind: 'code', value } : { kind: 'recoveryCode', value }
}

/**
 * Logins with a second factor: the challenge a right password gets instead of a session,
 * the second step (a TOTP code, a recovery code or a passkey), and passkey sign-ins. Every
 * check runs as one more attempt on the keys the user's password logins count on
 * (PasswordLogin.checkFactor): a wrong code is a guess like a wrong password, and a locked
 * account is locked for both steps.
 */
export class MfaLogin {
  readonly #parts: MfaLoginParts

  constructor (parts: MfaLoginParts) {
    this.#parts = parts
  }

  #now (): number {
    return Math.floor(nowSeconds(this.#parts.clock))
  }

  #ceremonies (): PasskeyCeremonies {
    const ceremonies = this.#parts.ceremonies
    if (ceremonies === undefined) throw new InvalidMfaRequestError('passkeys are not enabled')
    return ceremonies
  }

  /** Whether a login of the user needs a second step (they have a second factor). */
  async needsSecondStep (userId: string): Promise<boolean> {
    return hasFactor(await this.#parts.factors.stateOf(userId))
  }

  /**
   * For a user whose password was right: a challenge for the second step when they have a
   * second factor, undefined when the password is enough.
   */
  async challengeFor (user: UserRecord, clientAddress: string): Promise<MfaChallenge | undefined> {
    const state = await this.#parts.factors.stateOf(user.id)
    if (!hasFactor(state)) return undefined
    const methods: MfaMethod[] = []
    if (state.totp?.confirmedAt != null) methods.push('totp')
    if (state.recoveryCodesLeft > 0) methods.push('recovery_code')
    if (state.passkeys.length > 0 && this.#parts.ceremonies !== undefined) methods.push('passkey')
    const { value, hash } = newChallenge()
    const now = this.#now()
    const ttl = this.#parts.challengeTtlSeconds
    await this.#parts.store.challenges.insert({ hash, purpose: 'mfa_login', userId: user.id, binding: loginChallengeBinding(clientAddress, user.tokenVersion), createdAt: now, expiresAt: now + ttl })
    this.#parts.emit({ type: 'login.mfa_required', userId: user.id, username: user.username, address: clientAddress, methods })
    return { token: value, expiresIn: ttl, methods }
  }

  /** The pending login a presented challenge names, for this address and the user as they are now; 401 otherwise. */
  async #pendingLogin (presented: unknown, clientAddress: string): Promise<{ hash: string, challenge: Challenge, user: UserRecord }> {
    const hash = presentedChallengeHash(presented)
    const challenge = hash === undefined ? undefined : await this.#parts.store.challenges.find(hash, 'mfa_login', this.#now())
    const user = challenge?.userId == null ? undefined : await this.#parts.store.users.findById(challenge.userId)
    if (hash === undefined || challenge === undefined || user === undefined || user.disabled || challenge.binding !== loginChallengeBinding(clientAddress, user.tokenVersion)) {
      throw new MfaChallengeInvalidError()
    }
    return { hash, challenge, user }
  }

  /**
   * The second step. The challenge is found (and its address and user checked) first; then
   * the proof is checked as an attempt on the user's throttle keys (a wrong one: 401
   * MfaCodeInvalidError, counted; the challenge stays for a retype until it expires); then
   * the challenge is spent (one winner) and the user read again.
   */
  async complete (step: MfaLoginStep): Promise<ProvenLogin> {
    const proof = checkedProof(step)
    if (proof.kind === 'passkey') this.#ceremonies()
    const { hash, user } = await this.#pendingLogin(step.challenge, step.clientAddress)
    const authMethods = await this.#parts.login.checkFactor(user, step.clientAddress, step.deviceToken, async () => {
      if (await this.#proofHolds(user, proof, hash, step.clientAddress)) return proof.kind === 'passkey' ? AUTH_METHODS.passwordAndPasskey : AUTH_METHODS.passwordAndCode
      this.#parts.emit({ type: 'login.failed', userId: user.id, username: user.username, reason: proof.kind === 'passkey' ? 'passkey' : 'mfa_code', address: step.clientAddress })
      throw new MfaCodeInvalidError()
    })
    if (await this.#parts.store.challenges.consume(hash, 'mfa_login', this.#now()) === undefined) throw new MfaChallengeInvalidError()
    // Disabled or signed out everywhere while the second step was checked: the login ends here.
    const current = await this.#parts.store.users.findById(user.id)
    if (current === undefined || current.disabled || current.tokenVersion !== user.tokenVersion) throw new MfaChallengeInvalidError()
    return { user: current, authMethods }
  }

  async #proofHolds (user: UserRecord, proof: Proof, loginHash: string, clientAddress: string): Promise<boolean> {
    const { factors } = this.#parts
    if (proof.kind === 'code') return await factors.useTotpCode(user.id, proof.value)
    if (proof.kind === 'recoveryCode') return await factors.useRecoveryCode(user.id, proof.value, { address: clientAddress })
    const found = await this.#parts.store.passkeys.findById(proof.response.id)
    return await this.#assertionHolds(proof.response, proof.challenge, { binding: loginHash, userId: user.id }, found?.user.id === user.id ? found : undefined, false)
  }

  /**
   * Spends the WebAuthn challenge the assertion signed (before anything is verified: a
   * challenge is used once, whatever the outcome), checks what it was bound to, then the
   * assertion and its counter (compare-and-set in the store). `found`: the passkey, when
   * it may be used here.
   */
  async #assertionHolds (response: AuthenticationResponseJSON, challenge: string, expected: Pick<Challenge, 'binding' | 'userId'>, found: FoundPasskey | undefined, requireUserVerification: boolean): Promise<boolean> {
    const { challenges, passkeys } = this.#parts.store
    const stored = await challenges.consume(challengeHash(challenge), 'passkey_login', this.#now())
    if (stored === undefined || stored.binding !== expected.binding || stored.userId !== expected.userId || found === undefined) return false
    const { passkey } = found
    const assertion = await (this.#parts.ceremonies as PasskeyCeremonies).verifyAuthentication(response, passkey, challenge, requireUserVerification)
    // A credential's backup eligibility is fixed for its life: a change means another authenticator.
    if (assertion === undefined || assertion.deviceType !== passkey.deviceType) return false
    return await passkeys.recordUse(passkey.id, { previousCounter: passkey.counter, counter: assertion.counter, backedUp: assertion.backedUp, now: this.#now() })
  }

  /** WebAuthn request options for the second step with a passkey: the user's passkeys, bound to the pending login. */
  async passkeyOptions ({ challenge, clientAddress }: { challenge: unknown, clientAddress: string }): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const ceremonies = this.#ceremonies()
    this.#parts.optionsPerAddress.hit(clientAddressKey(clientAddress))
    const pending = await this.#pendingLogin(challenge, clientAddress)
    const webauthn = newChallenge()
    await this.#parts.store.challenges.insert({
      hash: webauthn.hash,
      purpose: 'passkey_login',
      userId: pending.user.id,
      binding: pending.hash,
      createdAt: this.#now(),
      expiresAt: pending.challenge.expiresAt
    })
    return await ceremonies.authenticationOptions(await this.#parts.store.passkeys.listByUser(pending.user.id), webauthn.value)
  }

  /** WebAuthn request options for a passkey sign-in: any discoverable passkey, user verification required, bound to the address. */
  async passkeySignInOptions ({ clientAddress }: { clientAddress: string }): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const ceremonies = this.#ceremonies()
    this.#parts.optionsPerAddress.hit(clientAddressKey(clientAddress))
    const webauthn = newChallenge()
    const now = this.#now()
    await this.#parts.store.challenges.insert({
      hash: webauthn.hash,
      purpose: 'passkey_login',
      userId: null,
      binding: addressBinding(clientAddress),
      createdAt: now,
      expiresAt: now + this.#parts.challengeTtlSeconds
    })
    return await ceremonies.authenticationOptions(undefined, webauthn.value)
  }

  /**
   * A passkey sign-in: the passkey's user, verified by the passkey alone (user verification
   * required). Failures are attempts on the address (and the account once the passkey is
   * known), and all answer 401 PasskeyInvalidError: unknown passkey, another user's handle,
   * a disabled user, a bad signature or counter.
   */
  async passkeySignIn ({ response, clientAddress, deviceToken }: PasskeyLoginAttempt): Promise<ProvenLogin> {
    this.#ceremonies()
    const checked = checkedAuthenticationResponse(response)
    const challenge = signedChallenge(checked)
    const found = await this.#parts.store.passkeys.findById(checked.id)
    const user = found?.user
    await this.#parts.login.checkFactor(user, clientAddress, deviceToken, async () => {
      // Discoverable credentials name their user: it must be the passkey's own.
      const usable = user !== undefined && !user.disabled && checked.response.userHandle === Buffer.from(userHandleOf(user.id)).toString('base64url')
      if (await this.#assertionHolds(checked, challenge, { binding: addressBinding(clientAddress), userId: null }, usable ? found : undefined, true)) return
      this.#parts.emit({ type: 'login.failed', userId: user?.id, username: user?.username ?? '', reason: 'passkey', address: clientAddress })
      throw new PasskeyInvalidError()
    })
    return { user: user as UserRecord, authMethods: AUTH_METHODS.passkey }
  }
}
