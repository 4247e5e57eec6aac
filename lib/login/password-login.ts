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

  constructor ({ users, attempts, hasher, clock }: PasswordLoginDependencies, options: PasswordLoginOptions) {
    const resolved = resolveLoginOptions(options)
    this.#users = users
    this.#hasher = hasher
    this.#throttle = new LoginThrottle(attempts, resolved.throttle, clock)
    this.#devices = new DeviceTokens(options.deviceTokenKey)
    this.#accountSlots = new InFlightLimit(resolved.maxInFlightPerAccount)
    this.#addressSlots = new InFlightLimit(resolved.maxInFlightPerAddress)
  }

  /** The user and a new device token, or LoginFailedError (401), LoginThrottledError (429), LoginBusyError (503). */
  async login ({ username, password, clientAddress, deviceToken }: PasswordAttempt): Promise<LoginResult> {
    const normalised = tryNormaliseUsername(username)
    const keys = this.#keys(normalised, username, clientAddress, deviceToken)
    // Never look up a value that cannot be a username: it simply misses, after the same work.
    const user = await this.#attempt(keys, async () => normalised === undefined ? undefined : await this.#users.findByUsername(normalised), password)
    return { user, deviceToken: this.#devices.issue(user.username) }
  }

  /** Confirms the password of a signed-in user (before a password change), throttled like a login. */
  async confirmPassword (user: UserRecord, password: string, clientAddress: string, deviceToken?: string): Promise<UserRecord> {
    // Checked against the user as stored now: a hash replaced since `user` was read must not pass.
    return await this.#attempt(this.#keys(user.username, user.username, clientAddress, deviceToken), async () => await this.#users.findById(user.id), password)
  }

  #keys (normalised: string | undefined, username: string, clientAddress: string, deviceToken: string | undefined): AttemptKeys {
    const nonce = normalised === undefined ? undefined : this.#devices.verify(deviceToken, normalised)
    return { account: nonce === undefined ? accountKey(username) : deviceKey(nonce), address: addressKey(clientAddress) }
  }

  async #attempt (keys: AttemptKeys, loadUser: () => Promise<UserRecord | undefined>, password: string): Promise<UserRecord> {
    const leave = this.#enter(keys)
    try {
      // Counted as a failure before any lookup or password work: concurrency buys nothing.
      const reservation = await this.#throttle.reserve(keys)
      let user: UserRecord
      try {
        const result = await checkPassword(this.#hasher, await loadUser(), password)
        if (!result.ok) throw new LoginFailedError(result.reason)
        user = await this.#rehash(result.user, result.password)
      } catch (error) {
        // Refused before bcrypt ran: no password was checked, so nothing was guessed.
        if (error instanceof LoginBusyError) await this.#throttle.release(reservation)
        throw error
      }
      await this.#throttle.release(reservation)
      return user
    } finally {
      leave()
    }
  }

  /** Takes an in-flight slot for both keys, or throws 429 (Retry-After 1) before any store call. */
  #enter ({ account, address }: AttemptKeys): () => void {
    if (!this.#accountSlots.tryAcquire(account)) throw withRetryAfter(new LoginThrottledError(), 1)
    if (!this.#addressSlots.tryAcquire(address)) {
      this.#accountSlots.release(account)
      throw withRetryAfter(new LoginThrottledError(), 1)
    }
    return () => {
      this.#accountSlots.release(account)
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
