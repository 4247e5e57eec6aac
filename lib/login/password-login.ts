import { ignoreAuthEvents, type EmitAuthEvent } from '../audit/auth-events.js'
import type { Clock } from '../clock.js'
import { LoginBusyError, LoginThrottledError, withRetryAfter } from '../errors.js'
import type { PasswordHasher } from '../accounts/password-hasher.js'
import type { LoginAttemptPort, UserPort, UserRecord } from '../store/ports.js'
import { tryNormaliseUsername } from '../accounts/username.js'
import { DeviceTokens } from './device-tokens.js'
import { InFlightLimit } from './in-flight-limit.js'
import { LoginFailedError } from './login-failed-error.js'
import { resolveLoginOptions, type PasswordLoginOptions } from './login-options.js'
import { LoginThrottle, type AttemptKeys } from './login-throttle.js'
import { checkPassword } from './password-check.js'
import { accountKey, addressKey, deviceKey } from './throttle-keys.js'

export interface PasswordAttempt {
  username: string
  password: string
  /** The client's IP address, for per-address throttling. */
  clientAddress: string
  /** The device token this browser got at an earlier login (from its cookie), if any. */
  deviceToken?: string | undefined
  /** The request's User-Agent, shown in the user's list of sessions. */
  userAgent?: string | undefined
}

export interface LoginResult {
  user: UserRecord
  /** A new device token for this browser: set it as a long-lived HttpOnly cookie. */
  deviceToken: string
}

export interface PasswordLoginDependencies {
  users: UserPort
  attempts: LoginAttemptPort
  hasher: PasswordHasher
  clock: Clock
  /** Told of each failed or refused password check. */
  emit?: EmitAuthEvent | undefined
}

/** Who a password check is for, as the audit events name them. */
interface Claimant {
  /** As the client typed it (a login) or as stored (a password change). */
  username: string
  userId: string | undefined
  address: string
}

/**
 * Password logins over the store's ports. Each attempt, in order: takes an in-flight
 * slot for its account (or device) and its address on this instance (429 at once when
 * none is free), reserves the attempt in the store (429 while locked), then looks the
 * user up and checks the password; only a success takes its reservation back.
 *
 * Anyone who knows a username can lock its account key: a 73-byte password costs them
 * and us nothing, and a 72-byte one would lock just as well, so no cost on our side
 * could stop it. The lockout is capped and ends, and browsers that signed in before
 * present a device token and are throttled on that instead: a real user keeps logging in
 * while an attacker keeps the account locked for everyone else.
 */
export class PasswordLogin {
  readonly #users: UserPort
  readonly #hasher: PasswordHasher
  readonly #throttle: LoginThrottle
  readonly #devices: DeviceTokens
  readonly #accountSlots: InFlightLimit
  readonly #addressSlots: InFlightLimit
  readonly #emit: EmitAuthEvent

  constructor ({ users, attempts, hasher, clock, emit = ignoreAuthEvents }: PasswordLoginDependencies, options: PasswordLoginOptions) {
    const resolved = resolveLoginOptions(options)
    this.#users = users
    this.#hasher = hasher
    this.#throttle = new LoginThrottle(attempts, resolved.throttle, clock)
    this.#devices = new DeviceTokens(options.deviceTokenKey)
    this.#accountSlots = new InFlightLimit(resolved.maxInFlightPerAccount)
    this.#addressSlots = new InFlightLimit(resolved.maxInFlightPerAddress)
    this.#emit = emit
  }

  /** The user and a new device token, or LoginFailedError (401), LoginThrottledError (429), LoginBusyError (503). */
  async login ({ username, password, clientAddress, deviceToken }: PasswordAttempt): Promise<LoginResult> {
    const normalised = tryNormaliseUsername(username)
    const keys = this.#keys(normalised, username, clientAddress, deviceToken)
    // Never look up a value that cannot be a username: it simply misses, after the same work.
    const user = await this.#attempt(keys, { username, userId: undefined, address: clientAddress }, async () => normalised === undefined ? undefined : await this.#users.findByUsername(normalised), password)
    return { user, deviceToken: this.issueDeviceToken(user) }
  }

  /** Confirms the password of a signed-in user (before a password change), throttled like a login. */
  async confirmPassword (user: UserRecord, password: string, clientAddress: string, deviceToken?: string): Promise<UserRecord> {
    // Checked against the user as stored now: a hash replaced since `user` was read must not pass.
    const claimant = { username: user.username, userId: user.id, address: clientAddress }
    return await this.#attempt(this.#keys(user.username, user.username, clientAddress, deviceToken), claimant, async () => await this.#users.findById(user.id), password)
  }

  /**
   * Runs another proof of who the user is (a second factor, a passkey) as one more attempt
   * on the keys their password logins count on: the same in-flight slots, the same
   * reservation and lockout (429 while locked), so the steps of a login share one allowance.
   * `check` resolves when the proof holds (the reservation is taken back) and throws when it
   * does not (it stays counted, a guess). `user` undefined: no account is named yet, the
   * address alone is counted (and `username` is empty in the events).
   */
  async checkFactor<T> (user: Pick<UserRecord, 'id' | 'username'> | undefined, clientAddress: string, deviceToken: string | undefined, check: () => Promise<T>): Promise<T> {
    const keys = user === undefined
      ? { account: undefined, address: addressKey(clientAddress) }
      : this.#keys(user.username, user.username, clientAddress, deviceToken)
    return await this.#guarded(keys, { username: user?.username ?? '', userId: user?.id, address: clientAddress }, check)
  }

  /** Whether the browser's device token is one the user got at an earlier login. */
  knowsDevice (user: Pick<UserRecord, 'username'>, deviceToken: string | undefined): boolean {
    return this.#devices.verify(deviceToken, user.username) !== undefined
  }

  /** A new device token for this browser, once the user has proven who they are. */
  issueDeviceToken (user: Pick<UserRecord, 'username'>): string {
    return this.#devices.issue(user.username)
  }

  #keys (normalised: string | undefined, username: string, clientAddress: string, deviceToken: string | undefined): AttemptKeys {
    const nonce = normalised === undefined ? undefined : this.#devices.verify(deviceToken, normalised)
    return { account: nonce === undefined ? accountKey(username) : deviceKey(nonce), address: addressKey(clientAddress) }
  }

  async #attempt (keys: AttemptKeys, claimant: Claimant, loadUser: () => Promise<UserRecord | undefined>, password: string): Promise<UserRecord> {
    return await this.#guarded(keys, claimant, async () => {
      let found: UserRecord | undefined
      try {
        found = await loadUser()
        const result = await checkPassword(this.#hasher, found, password)
        if (!result.ok) {
          this.#emit({ type: 'login.failed', ...claimant, userId: found?.id, reason: result.reason })
          throw new LoginFailedError(result.reason)
        }
        return await this.#rehash(result.user, result.password)
      } catch (error) {
        if (error instanceof LoginBusyError) this.#emit({ type: 'login.failed', ...claimant, userId: found?.id, reason: 'busy' })
        throw error
      }
    })
  }

  /**
   * One attempt: an in-flight slot for each key, the attempt reserved (counted as a failure)
   * before any lookup or check, then `check`. Only a success takes the reservation back, and
   * a busy refusal (LoginBusyError: nothing was checked, so nothing was guessed).
   */
  async #guarded<T> (keys: AttemptKeys, claimant: Claimant, check: () => Promise<T>): Promise<T> {
    const leave = this.#enter(keys, claimant)
    try {
      // Counted as a failure before any lookup or password work: concurrency buys nothing.
      const reservation = await this.#throttle.reserve(keys, (retryAfter) => {
        this.#emit({ type: 'login.locked_out', ...claimant, cause: 'failures', retryAfter })
      })
      let result: T
      try {
        result = await check()
      } catch (error) {
        if (error instanceof LoginBusyError) await this.#throttle.release(reservation)
        throw error
      }
      await this.#throttle.release(reservation)
      return result
    } finally {
      leave()
    }
  }

  /** Takes an in-flight slot for both keys (the address alone without an account), or throws 429 (Retry-After 1) before any store call. */
  #enter ({ account, address }: AttemptKeys, claimant: Claimant): () => void {
    const refuse = (): Error => {
      this.#emit({ type: 'login.locked_out', ...claimant, cause: 'in_flight', retryAfter: 1 })
      return withRetryAfter(new LoginThrottledError(), 1)
    }
    if (account !== undefined && !this.#accountSlots.tryAcquire(account)) throw refuse()
    if (!this.#addressSlots.tryAcquire(address)) {
      if (account !== undefined) this.#accountSlots.release(account)
      throw refuse()
    }
    return () => {
      if (account !== undefined) this.#accountSlots.release(account)
      this.#addressSlots.release(address)
    }
  }

  /** Replaces a hash made at a lower cost, unless the password changed meanwhile. */
  async #rehash (user: UserRecord, password: string): Promise<UserRecord> {
    if (!this.#hasher.needsRehash(user.passwordHash)) return user
    let passwordHash: string
    try {
      passwordHash = await this.#hasher.hash(password)
    } catch (error) {
      // A busy hasher must not fail a login whose password was right: the next one rehashes.
      if (error instanceof LoginBusyError) return user
      throw error
    }
    const updated = await this.#users.update(user.id, { set: { passwordHash }, expect: { passwordHash: user.passwordHash } })
    return updated ?? user
  }
}
