import { Accounts } from '../accounts/accounts.js'
import type { ApiKeys } from '../api-keys/api-keys.js'
import { createApiKeys } from '../api-keys/create-api-keys.js'
import { UserDirectory } from '../accounts/user-directory.js'
import { createAuthEventEmitter, type EmitAuthEvent } from '../audit/auth-events.js'
import { RemoteIssuer } from '../issuers/remote-issuer.js'
import { TokenVerifier } from '../issuers/token-verifier.js'
import { type Clock, nowSeconds, systemClock } from '../clock.js'
import { resolveCoreOptions, type AuthCoreOptions, type ResolvedCoreOptions } from './core-options.js'
import { AccountUnlock } from '../login/account-unlock.js'
import { PasswordLogin, type PasswordAttempt } from '../login/password-login.js'
import { Housekeeping } from '../sessions/housekeeping.js'
import { RateLimit } from '../sessions/rate-limit.js'
import { createRevocationCheck } from '../sessions/revocation-check.js'
import { RevocationList } from '../sessions/revocation-list.js'
import { RevocationSync } from '../sessions/revocation-sync.js'
import { startRevocationPush } from '../sessions/revocation-push.js'
import { SessionService, type IssuedSession } from '../sessions/session-service.js'
import { UserSessions } from '../sessions/user-sessions.js'
import { TokenRevokedError } from '../errors.js'
import { BackgroundJobs } from '../accounts/background-jobs.js'
import { normaliseEmail } from '../accounts/email-address.js'
import { EmailVerification, type VerifiedEmail } from '../accounts/email-verification.js'
import { MailThrottle } from '../login/mail-throttle.js'
import { PasswordReset } from '../accounts/password-reset.js'
import { createAccountMailer } from '../mail/create-mailer.js'
import type { AccountMailer } from '../mail/mail-port.js'
import type { AuthStore, Revocation, RevocationWatch, UserRecord } from '../store/ports.js'
import { AccessTokens, type AccessTokenClaimsBase } from '../tokens/access-tokens.js'
import { deriveKeysFromRing, keyDefinitionsOf } from '../tokens/derived-keys.js'
import { weakSecretWarning } from '../tokens/weak-secret-policy.js'
import { createUserManagement, type UserManagement } from './user-management.js'
import { randomBytes } from 'node:crypto'
import { AUTH_METHODS } from '../mfa/amr.js'
import { createMfa, type Mfa } from '../mfa/create-mfa.js'
import type { MfaLoginStep, PasskeyLoginAttempt } from '../mfa/mfa-login.js'
import { SignIns, type BeforeSession, type LoginOutcome, type SignedIn } from './sign-ins.js'
import type { PublicKeyCredentialRequestOptionsJSON } from '../mfa/passkey-ceremonies.js'
import type { SecondFactors } from '../mfa/second-factors.js'

/** Where the core reports what an operator should see; pino (Fastify's `app.log`) fits. */
export interface CoreLogger {
  debug: (details: object, message: string) => void
  info: (message: string) => void
  warn: (details: object, message: string) => void
  error: (details: object, message: string) => void
}

// Without a logger the core says nothing.
const ignore = (): void => {}
const silentLogger: CoreLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore }

export interface CoreEnvironment {
  clock?: Clock | undefined
  log?: CoreLogger | undefined
  /** What account mails call the product when `mail.productName` is not set (tokenAuth passes its realm). Default 'api'. */
  productName?: string | undefined
}

// How long a closing app waits for mails still being sent.
const MAIL_DRAIN_TIMEOUT_MS = 10_000

// An id missing this long is taken for a rolled-back insert, then looked for less often.
const REVOCATION_GAP_TIMEOUT_MS = 30_000

/** The stateful half, present when the core has a store. */
export interface StatefulParts<Claims extends AccessTokenClaimsBase> {
  store: AuthStore
  /** This service's own access tokens: a store needs keys to sign its sessions. */
  tokens: AccessTokens<Claims>
  accounts: Accounts
  login: PasswordLogin
  sessions: SessionService<Claims>
  revocations: RevocationList
  /** Every operation on users and their sessions, as `app.tokenAuth.accounts` offers them. */
  management: UserManagement
  /** Present when the `mail` option is set. */
  accountMail: AccountMailFlows | undefined
  /** Present when the `apiKeys` option is set. */
  apiKeys: ApiKeys | undefined
  /** The users' second factors (TOTP, recovery codes, passkeys); present when the `mfa` option is set. */
  mfa: SecondFactors | undefined
}

export type { BeforeSession, LoginOutcome, SignedIn } from './sign-ins.js'

/** The flows that mail a link: password reset, email verification and change. */
export interface AccountMailFlows {
  passwordReset: PasswordReset
  emailVerification: EmailVerification
}

/** A password reset's outcome: the user, and the new session when `passwordReset.logIn` is on. */
export interface PasswordResetResult {
  user: UserRecord
  session: IssuedSession | undefined
}

/**
 * Everything the plugins adapt, built in one place from one set of options and one
 * clock: the key ring and access tokens; with a store, the revocation list kept in sync,
 * housekeeping, accounts, sessions and password logins. `start()` makes the first
 * revocation sync and starts the timers; `stop()` ends them.
 */
export class AuthCore<Claims extends AccessTokenClaimsBase = AccessTokenClaimsBase> {
  readonly options: ResolvedCoreOptions
  readonly clock: Clock
  /** This service's own access tokens; undefined when it only verifies its issuers' tokens. */
  readonly tokens: AccessTokens<Claims> | undefined
  /** Every token a request may carry: this service's own and its issuers'. */
  readonly verifier: TokenVerifier<Claims>
  readonly issuers: readonly RemoteIssuer[]
  readonly stateful: StatefulParts<Claims> | undefined
  readonly #sync: RevocationSync | undefined
  readonly #housekeeping: Housekeeping | undefined
  /** Opens the store's revocation push (when on and the store has one). */
  readonly #openPush: (() => RevocationWatch) | undefined
  #push: RevocationWatch | undefined
  #stopped = false
  readonly #emit: EmitAuthEvent
  readonly #mailer: AccountMailer | undefined
  readonly #jobs: BackgroundJobs
  readonly #mfa: Mfa | undefined
  readonly #signInFlows: SignIns<Claims> | undefined

  constructor (options: AuthCoreOptions, environment: CoreEnvironment = {}) {
    const resolved = resolveCoreOptions(options)
    const clock = environment.clock ?? systemClock
    const log = environment.log ?? silentLogger
    if (resolved.weakSecrets.length > 0) log.warn({ options: resolved.weakSecrets }, weakSecretWarning(resolved.weakSecrets))
    this.options = resolved
    this.clock = clock
    const emit = createAuthEventEmitter(resolved.onAuthEvent, { clock, log })
    this.#emit = emit
    this.#jobs = new BackgroundJobs(log)
    const tokens = resolved.ring === undefined
      ? undefined
      : new AccessTokens<Claims>({
        ring: resolved.ring,
        issuer: resolved.issuer,
        audience: resolved.audience,
        ttlSeconds: resolved.accessTokenTtlSeconds,
        maxTtlSeconds: resolved.maxTokenTtlSeconds,
        clockToleranceSeconds: resolved.clockToleranceSeconds,
        maxTokenLength: resolved.maxTokenLength,
        cacheSize: resolved.cacheSize,
        clock
      })
    this.tokens = tokens
    // A revocation lives at most the longest token lifetime plus tolerance (API keys' less);
    // its id is looked for that long after it went missing, plus the margins a late commit needs.
    const lateGapRetentionMs = (resolved.maxTokenTtlSeconds + resolved.clockToleranceSeconds) * 1000 +
      resolved.revocation.maxStalenessMs + REVOCATION_GAP_TIMEOUT_MS
    this.issuers = resolved.issuers.map((issuer) => {
      if (issuer.relaxations.length > 0) log.info(`tokens of ${issuer.issuer} are accepted with: ${issuer.relaxations.join('; ')}`)
      return new RemoteIssuer(issuer, { clock, log, gapTimeoutMs: REVOCATION_GAP_TIMEOUT_MS, lateGapRetentionMs, clockToleranceSeconds: resolved.clockToleranceSeconds })
    })
    this.verifier = new TokenVerifier<Claims>({
      local: tokens,
      issuers: this.issuers,
      clock,
      maxTokenLength: resolved.maxTokenLength,
      clockToleranceSeconds: resolved.clockToleranceSeconds,
      cacheSize: resolved.cacheSize
    })
    const store = resolved.store
    // A store comes only with keys of this service's own (the options refuse one without).
    if (store === undefined || tokens === undefined) return
    const revocations = new RevocationList()
    const onRevocation = (revocation: Revocation): void => { revocations.add(revocation) }
    const sync = this.#sync = new RevocationSync({
      feed: store.revocations,
      list: revocations,
      clock,
      intervalMs: resolved.revocation.syncIntervalMs,
      maxStalenessMs: resolved.revocation.maxStalenessMs,
      gapTimeoutMs: REVOCATION_GAP_TIMEOUT_MS,
      lateGapRetentionMs,
      onStatusChange (healthy, error) {
        if (healthy) log.info('token revocations are in sync again')
        else log.error({ err: error }, 'cannot read token revocations; authenticated requests answer 503 until the store is back')
      }
    })
    tokens.useRevocationCheck(createRevocationCheck(revocations, this.#sync))
    const watch = store.revocations.watch
    if (resolved.revocation.push && watch !== undefined) {
      this.#openPush = () => startRevocationPush(watch, sync, log, resolved.revocation.syncIntervalMs)
    }
    this.#housekeeping = new Housekeeping({
      store,
      clock,
      intervalMs: resolved.revocation.pruneIntervalMs,
      onPruned: (pruned) => { log.debug({ pruned }, 'pruned expired auth rows') },
      onError: (error) => { log.warn({ err: error }, 'pruning expired auth rows failed; will retry') }
    })
    const perMinute = (limit: number): RateLimit => new RateLimit({ limit, windowSeconds: 60, maxKeys: 100_000 }, clock)
    const accounts = new Accounts({
      users: store.users,
      hasher: resolved.hasher,
      clock,
      policy: {
        minPasswordLength: resolved.minPasswordLength,
        profileFields: store.profileFields ?? [],
        userRevocationSeconds: resolved.maxTokenTtlSeconds + resolved.clockToleranceSeconds
      },
      onRevocation,
      emit
    })
    this.#mailer = resolved.mail === undefined ? undefined : createAccountMailer(resolved.mail, { productName: environment.productName ?? 'api', log })
    const sessions = new SessionService<Claims>({
      users: store.users,
      families: store.families,
      revocations: store.revocations,
      rateLimits: { perSession: perMinute(resolved.session.perSessionPerMinute), perAddress: perMinute(resolved.session.perAddressPerMinute) },
      tokens,
      claimsFor: resolved.claims,
      clock,
      onRevocation,
      emit,
      policy: {
        accessTokenTtlSeconds: resolved.accessTokenTtlSeconds,
        clockToleranceSeconds: resolved.clockToleranceSeconds,
        ...resolved.session
      }
    })
    const userSessions = new UserSessions({
      users: store.users,
      families: store.families,
      clock,
      revokeSession: async (sessionId) => await sessions.revoke(sessionId),
      revokeUserTokens: async (userId, context) => { await accounts.revokeUserTokens(userId, context) },
      emit
    })
    const login = new PasswordLogin({ users: store.users, attempts: store.attempts, hasher: resolved.hasher, clock, emit }, {
      // Shared by every instance with the same keys, issued under the first and accepted under each
      // (a key rotation keeps device cookies); a verify-only ring cannot sign sessions anyway.
      deviceTokenKey: deriveKeysFromRing(keyDefinitionsOf(options), 'device-token v1')?.accepted ?? randomBytes(32),
      throttle: resolved.throttle,
      ...resolved.login
    })
    this.#mfa = createMfa(resolved.mfa, { store, login, clock, emit, productName: environment.productName ?? 'api' })
    this.#signInFlows = new SignIns({ login, sessions, mfa: this.#mfa, requireVerifiedEmail: resolved.requireVerifiedEmail, emit })
    this.stateful = {
      store,
      tokens,
      revocations,
      accounts,
      accountMail: this.#mailer === undefined ? undefined : this.#accountMailFlows(store, this.#mailer, accounts),
      login,
      sessions,
      apiKeys: createApiKeys(resolved, { store, revocations, sync, clock, emit, log }),
      mfa: this.#mfa?.factors,
      management: createUserManagement(accounts, new UserDirectory(store.users), new AccountUnlock({ users: store.users, attempts: store.attempts, emit }), userSessions)
    }
  }

  #accountMailFlows (store: AuthStore, mailer: AccountMailer, accounts: Accounts): AccountMailFlows {
    const { hasher, minPasswordLength, passwordReset, emailVerification, mailThrottle } = this.options
    const parts = {
      users: store.users,
      accountTokens: store.accountTokens,
      mailer,
      throttle: new MailThrottle(store.attempts, mailThrottle, this.clock),
      jobs: this.#jobs,
      clock: this.clock,
      emit: this.#emit
    }
    return {
      passwordReset: new PasswordReset({ ...parts, hasher, accounts }, { ttlSeconds: passwordReset.ttlSeconds, minPasswordLength }),
      emailVerification: new EmailVerification(parts, { ttlSeconds: emailVerification.ttlSeconds })
    }
  }

  /**
   * A password login: the credentials checked (throttled); for a user with a second factor
   * (the `mfa` option on) the challenge of the second step (see completeMfaLogin); otherwise
   * `beforeSession` run (it may still refuse by throwing), then a new session started. The
   * session and the device token for the browser's cookie.
   */
  async logIn (attempt: PasswordAttempt, beforeSession?: BeforeSession): Promise<LoginOutcome> {
    return await this.#signIns().logIn(attempt, beforeSession)
  }

  /**
   * The second step of a login (see MfaLogin.complete): the challenge `logIn` gave and exactly
   * one of a TOTP code, a recovery code or a passkey assertion; then `beforeSession`, the
   * session (its `amr` says which) and a device token.
   */
  async completeMfaLogin (step: MfaLoginStep, beforeSession?: BeforeSession): Promise<SignedIn> {
    return await this.#signIns().completeMfaLogin(step, beforeSession)
  }

  /** WebAuthn request options for the second step of a login with a passkey (needs `mfa.passkeys`). */
  async mfaPasskeyOptions (request: { challenge: unknown, clientAddress: string }): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return await this.#mfaParts().login.passkeyOptions(request)
  }

  /** WebAuthn request options for signing in with a passkey alone (needs `mfa.passkeys`). */
  async passkeyLoginOptions (request: { clientAddress: string }): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return await this.#mfaParts().login.passkeySignInOptions(request)
  }

  /** A sign-in with a passkey alone (user verification required, see MfaLogin.passkeySignIn), then `beforeSession` and the session. */
  async passkeyLogIn (attempt: PasskeyLoginAttempt, beforeSession?: BeforeSession): Promise<SignedIn> {
    return await this.#signIns().passkeyLogIn(attempt, beforeSession)
  }

  /**
   * The signed-in user's password change: the current password checked (throttled like a
   * login), the new one set, every earlier session ended, and a new session started.
   * `sessionId`: the session the user changed it from, for the audit event.
   */
  async changePassword (change: { userId: string, sessionId?: string | undefined, currentPassword: string, newPassword: string, clientAddress: string, deviceToken?: string | undefined, userAgent?: string | undefined }): Promise<IssuedSession> {
    const { accounts, login, sessions, store } = this.#statefulParts()
    const user = await accounts.findUserById(change.userId)
    if (user === undefined) throw new TokenRevokedError()
    await login.confirmPassword(user, change.currentPassword, change.clientAddress, change.deviceToken)
    // The new session is proven as the one it was changed from (read before the change ends it): a password alone never upgrades to `mfa`.
    const from = change.sessionId === undefined ? undefined : (await store.families.listByUser(user.id, nowSeconds(this.clock))).find((family) => family.id === change.sessionId)
    const changed = await accounts.changePassword(user.id, change.newPassword, { sessionId: change.sessionId, address: change.clientAddress })
    return await sessions.start(changed, { clientAddress: change.clientAddress, userAgent: change.userAgent }, from?.authMethods ?? AUTH_METHODS.password)
  }

  /**
   * Sets a new password with a reset link's token (see PasswordReset.reset): every session
   * ended; with `passwordReset.logIn`, a new session started for the user.
   */
  async resetPassword (reset: { token: unknown, newPassword: unknown, clientAddress: string, userAgent?: string | undefined }): Promise<PasswordResetResult> {
    const user = await this.#accountMail().passwordReset.reset(reset.token, reset.newPassword, reset.clientAddress)
    // A reset is how an account is taken back: keys the taker made must not outlive it.
    await this.#statefulParts().apiKeys?.revokeAll(user.id, { address: reset.clientAddress }, 'password_reset')
    if (!this.options.passwordReset.logIn) return { user, session: undefined }
    // A mailbox is one factor: a user with a second one signs in with both steps.
    if (await this.#mfa?.login.needsSecondStep(user.id) === true) return { user, session: undefined }
    const session = await this.#statefulParts().sessions.start(user, { clientAddress: reset.clientAddress, userAgent: reset.userAgent }, AUTH_METHODS.password)
    this.#emit({ type: 'login.succeeded', userId: user.id, username: user.username, sessionId: session.sessionId, address: reset.clientAddress, authMethods: [...AUTH_METHODS.password] })
    return { user, session }
  }

  /**
   * The signed-in user asks to change their email: the address checked, then the current
   * password (throttled like a login), then the link mailed to the new address (see
   * EmailVerification.requestChange). The email changes only when the link is followed.
   */
  async requestEmailChange (change: { userId: string, sessionId?: string | undefined, newEmail: unknown, currentPassword: string, clientAddress: string, deviceToken?: string | undefined }): Promise<void> {
    const { emailVerification } = this.#accountMail()
    const { accounts, login } = this.#statefulParts()
    const newEmail = normaliseEmail(change.newEmail)
    const user = await accounts.findUserById(change.userId)
    if (user === undefined) throw new TokenRevokedError()
    const confirmed = await login.confirmPassword(user, change.currentPassword, change.clientAddress, change.deviceToken)
    await emailVerification.requestChange(confirmed, newEmail, { clientAddress: change.clientAddress, sessionId: change.sessionId })
  }

  /** Follows a verification link (see EmailVerification.verify). */
  async verifyEmail (token: unknown, clientAddress: string): Promise<VerifiedEmail> {
    return await this.#accountMail().emailVerification.verify(token, clientAddress)
  }

  #accountMail (): AccountMailFlows {
    const flows = this.#statefulParts().accountMail
    if (flows === undefined) throw new TypeError('password resets and email verification need the `mail` option')
    return flows
  }

  #signIns (): SignIns<Claims> {
    this.#statefulParts()
    return this.#signInFlows as SignIns<Claims>
  }

  #mfaParts (): Mfa {
    if (this.#mfa === undefined) throw new TypeError('second factors need the `mfa` option')
    return this.#mfa
  }

  #statefulParts (): StatefulParts<Claims> {
    if (this.stateful === undefined) throw new TypeError('sessions and accounts need a `store` in the options')
    return this.stateful
  }

  /**
   * The first revocation sync (so no revoked token passes from the first request on) and each
   * issuer's first JWKS fetch and feed sync, then the timers.
   */
  async start (): Promise<void> {
    await Promise.all([this.#startSync(), ...this.issuers.map(async (issuer) => { await issuer.start() })])
    this.#housekeeping?.start()
    this.stateful?.apiKeys?.start()
  }

  /** The first sync, then the push (which only hurries later polls). */
  async #startSync (): Promise<void> {
    await this.#sync?.start()
    if (!this.#stopped) this.#push = this.#openPush?.()
  }

  /** Stops the timers, and lets mails still being sent finish (for a bounded time) before the mailer closes. */
  async stop (): Promise<void> {
    this.#stopped = true
    await Promise.all([
      this.#push?.close(),
      this.#sync?.stop(),
      this.#housekeeping?.stop(),
      this.stateful?.apiKeys?.stop(),
      ...this.issuers.map(async (issuer) => { await issuer.stop() }),
      this.#jobs.drain(MAIL_DRAIN_TIMEOUT_MS).then(async () => { await this.#mailer?.close() })
    ])
  }
}

/** Builds the core. `environment.clock` replaces the system clock (tests move time with it). */
export function createAuthCore<Claims extends AccessTokenClaimsBase = AccessTokenClaimsBase> (options: AuthCoreOptions, environment: CoreEnvironment = {}): AuthCore<Claims> {
  return new AuthCore<Claims>(options, environment)
}
