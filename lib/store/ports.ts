/**
 * The store contract: ten small ports through which the core keeps every piece of
 * shared state. Each method says what it must do atomically; the policy (who may log in,
 * how long a lockout lasts, when a family is stolen) lives in the core, written once.
 *
 * Times are seconds since the epoch. A store may keep whole seconds (the knex store
 * does): the core compares at that resolution. Methods resolve with plain data the
 * caller may keep and change; they never hand out their own objects.
 *
 * Errors: a method throws UsernameTakenError or EmailTakenError where it says so; any failure to reach the
 * backend should be a StoreUnavailableError (503), never a raw driver error.
 */

/** A user as the store keeps it. */
export interface UserRecord {
  id: string
  /** Normalised (NFKC, lower case): the spelling logins are matched against. */
  username: string
  /** Normalised (NFKC, lower case) and unique among users; null when the user has none. */
  email: string | null
  /** When `email` was last proven to reach the user (a verification link followed); null while unproven. */
  emailVerifiedAt: number | null
  roles: string[]
  disabled: boolean
  /** Raised by every user-wide revocation; tokens carry it as `ver`. */
  tokenVersion: number
  passwordHash: string
  createdAt: number
  /** Application fields (the knex store's `profileColumns`). */
  profile: Record<string, unknown>
}

/** Fields an update may set. */
export interface UserChanges {
  passwordHash?: string | undefined
  email?: string | null | undefined
  emailVerifiedAt?: number | null | undefined
  roles?: string[] | undefined
  disabled?: boolean | undefined
  profile?: Record<string, unknown> | undefined
}

export interface UserUpdate {
  set: UserChanges
  /** Apply only while these fields still hold these values (compare-and-set). */
  expect?: {
    passwordHash?: string | undefined
    disabled?: boolean | undefined
    email?: string | null | undefined
    /** The same roles in the same order. */
    roles?: readonly string[] | undefined
  } | undefined
  /**
   * End every token the user holds, in the same atomic step as the change: raise
   * tokenVersion by one, revoke every refresh-token family of the user, and append a
   * `user` revocation at the new version that expires at `expiresAt`.
   */
  revokeTokens?: { now: number, expiresAt: number } | undefined
}

/** One page of users, ordered by username. */
export interface UserListQuery {
  /** The username of the last user of the previous page: this page starts after it. */
  after?: string | undefined
  /** At most this many users (1 to 1000). */
  limit: number
  /**
   * Only users whose username or email contains this text (already normalised like both:
   * lower case). Matched literally: `%` and `_` are characters, not wildcards.
   */
  search?: string | undefined
}

export interface UserPort {
  /**
   * Inserts a new user; UsernameTakenError when the username exists, EmailTakenError when
   * another user has the email (unique indexes, not a read first).
   */
  insert: (user: UserRecord) => Promise<void>
  findById: (id: string) => Promise<UserRecord | undefined>
  /** By the normalised username, exactly as stored. */
  findByUsername: (username: string) => Promise<UserRecord | undefined>
  /** By the normalised email, exactly as stored. */
  findByEmail: (email: string) => Promise<UserRecord | undefined>
  /** A page of users by ascending username (byte order), after `after`, filtered by `search`. */
  list: (query: UserListQuery) => Promise<UserRecord[]>
  /**
   * Atomically applies `update` to one user and returns the user as it now is, or
   * undefined when no user has this id or an `expect` did not hold (nothing changed).
   * EmailTakenError, with nothing changed, when `set.email` is another user's email.
   * When `set.disabled` is true and `revokeTokens` is given, every unrevoked API key of the
   * user is revoked (revokedAt = revokeTokens.now) in the same atomic step: a key created
   * concurrently either is revoked by it or is refused by `apiKeys.insert`.
   */
  update: (id: string, update: UserUpdate) => Promise<UserRecord | undefined>
  /**
   * Atomically deletes the user, their refresh-token families, account tokens, API keys, TOTP
   * factor, recovery codes, passkeys and challenges, and
   * appends a `user` revocation at tokenVersion + 1, like `revokeTokens`. False when no such user.
   */
  delete: (id: string, revocation: { now: number, expiresAt: number }) => Promise<boolean>
}

/** A refresh-token family (one session): every rotation replaces its current token. */
export interface RefreshFamily {
  id: string
  userId: string
  /** The user's token version when the session started; any later version ends it. */
  tokenVersion: number
  createdAt: number
  /** Absolute end of the session: no rotation extends past it. */
  expiresAt: number
  /** SHA-256 (hex) of the one token that may be spent next. */
  currentTokenHash: string
  /** The token the last rotation spent, and when: for the concurrent-refresh grace. */
  previousTokenHash: string | null
  rotatedAt: number | null
  revokedAt: number | null
  /** The client address the session was last used from (its start, or its latest rotation), at most 64 characters; null when unknown. */
  clientAddress: string | null
  /** The User-Agent header of that request, at most 512 characters; null when none was sent. */
  userAgent: string | null
  /**
   * How the user proved who they are when the session started (RFC 8176 `amr` values, such
   * as `pwd`, `otp`, `hwk`, `mfa`): every access token of the session carries them, refreshes too.
   */
  authMethods: string[]
}

/** Where a session was used from, kept for the user's "your sessions" list. */
export type SessionClient = Pick<RefreshFamily, 'clientAddress' | 'userAgent'>

/** A refresh token as issued: only its hash is kept. */
export interface IssuedRefreshToken {
  hash: string
  expiresAt: number
}

export type NewRefreshFamily = Pick<RefreshFamily, 'id' | 'userId' | 'tokenVersion' | 'createdAt' | 'expiresAt' | 'clientAddress' | 'userAgent' | 'authMethods'>

export interface FoundRefreshToken {
  family: RefreshFamily
  token: IssuedRefreshToken
}

export interface RefreshFamilyPort {
  /** Inserts a family with its first token. */
  create: (family: NewRefreshFamily, token: IssuedRefreshToken) => Promise<void>
  /** The token with this hash (current or long spent) and its family; undefined when unknown. */
  findByToken: (tokenHash: string) => Promise<FoundRefreshToken | undefined>
  /**
   * The compare-and-swap of a refresh. Atomically, only while the family `familyId` is
   * not revoked, not past its expiresAt at `now`, and `spentHash` is still its current
   * token: make `successor` the current token (recording `spentHash` as previous and
   * `now` as rotatedAt, and `client`, when given, as where the session was last used from).
   * False, with nothing changed, otherwise.
   *
   * It must serialise with `revoke` and with a user-wide revocation on the same family:
   * once either has returned, no rotation of that family can succeed, on any isolation
   * level (a conditional UPDATE of the family row does this; inserting rows does not).
   */
  rotate: (familyId: string, spentHash: string, successor: IssuedRefreshToken, now: number, client?: SessionClient | undefined) => Promise<boolean>
  /**
   * Atomically revokes a live family and appends a `session` revocation for it expiring at
   * `accessTokensExpireBy`. True only for the call that revoked it: revoking a revoked or
   * unknown family writes nothing and resolves false.
   */
  revoke: (familyId: string, now: number, accessTokensExpireBy: number) => Promise<boolean>
  /** The live (unrevoked, unexpired at `now`) families of a user. */
  listByUser: (userId: string, now: number) => Promise<RefreshFamily[]>
  /** Deletes families past their expiresAt and tokens past theirs, at `now`. Returns rows deleted. */
  prune: (now: number) => Promise<number>
}

/**
 * What can be revoked: one access token (by `jti`), every access token of one session
 * (by `sid`), or every token of a user below a token version (`ver`).
 */
export type RevocationKind = 'token' | 'session' | 'user'

export interface Revocation {
  kind: RevocationKind
  subject: string
  /** For 'user': the lowest token version still valid. 0 otherwise. */
  version: number
  /** After this no token it could match is still valid; it may then be pruned. */
  expiresAt: number
}

/** A revocation as stored, with the id instances sync by. */
export interface StoredRevocation extends Revocation {
  id: number
  /** When it was appended (the `now` of the call that appended it). */
  createdAt: number
}

export interface RevocationQuery {
  afterId: number
  /** Exclusive upper bound, when given. */
  beforeId?: number | undefined
  limit?: number | undefined
}

/** What a store tells whoever watches its revocations (see RevocationPort.watch). */
export interface RevocationWatcher {
  /**
   * Revocations were committed since the last call: read the feed now. A hint only: it
   * carries no revocation, so nothing a forged or lost announcement says is trusted.
   */
  appended: () => void
  /**
   * Announcements started to flow (true: after a connect or reconnect; some may have been
   * missed while away, so read the feed) or stopped (false: until they are back, only
   * polling finds new revocations). Called only when the status changes.
   */
  statusChanged: (live: boolean, error?: unknown) => void
}

/** A watch on the store's revocations, until closed. */
export interface RevocationWatch {
  /** Stops announcing and releases what the watch holds (a connection); resolves once done. */
  close: () => Promise<void>
}

export interface RevocationPort {
  /**
   * Optional push (PostgreSQL LISTEN/NOTIFY in the knex store): tells `watcher` when
   * revocations are appended, so that instances read them at once instead of at their
   * next poll. Polling stays the safety net and the freshness proof: a store without
   * `watch`, or a watch that is down, only makes revocations take up to a poll interval.
   */
  watch?: ((watcher: RevocationWatcher) => RevocationWatch) | undefined
  /** Appends a revocation, created at `now`, and gives it the next id. */
  append: (revocation: Revocation, now: number) => Promise<void>
  /**
   * Stored revocations with afterId < id (< beforeId), by ascending id, at most `limit`.
   * Ids increase with createdAt; a reader may see id n+1 before id n commits, and
   * treats a missing id as a gap to re-read for a while (the sync does), so ids need not
   * commit in order.
   */
  list: (query: RevocationQuery) => Promise<StoredRevocation[]>
  /** Deletes revocations with expiresAt <= now. Returns how many. */
  prune: (now: number) => Promise<number>
}

/** One throttling counter (an account, a client address, a device). */
export interface AttemptCounter {
  key: string
  /** Attempts counted in the current window. */
  count: number
  windowStartedAt: number
  /** No attempt is allowed before this time (0: not locked). */
  lockedUntil: number
  lastAttemptAt: number
}

/** What a decision writes back: counters to store, keys to delete. */
export interface AttemptWrite<T> {
  write: AttemptCounter[]
  remove?: string[] | undefined
  result: T
}

export interface LoginAttemptPort {
  /**
   * The read-modify-write of throttling. Atomically: reads the counters of `keys` (a
   * missing one is absent from the map), calls `decide` with them and stores what it
   * returns, serialised against every other `update` of any of these keys, so that N
   * concurrent reservations are counted N times. `decide` is pure and may be called
   * again when the backend retries.
   */
  update: <T>(keys: readonly string[], decide: (current: ReadonlyMap<string, AttemptCounter>) => AttemptWrite<T>) => Promise<T>
  /** Deletes counters whose lastAttemptAt is before `idleBefore`. Returns how many. */
  prune: (idleBefore: number) => Promise<number>
}

/** What an account token (a link sent by mail) lets its holder do, once. */
export type AccountTokenPurpose = 'password_reset' | 'email_verification'

/**
 * A single-use token sent by mail: a password reset, or the proof that an address
 * reaches the user. Only its hash is kept.
 */
export interface AccountToken {
  /** SHA-256 (hex) of the token in the link. */
  hash: string
  purpose: AccountTokenPurpose
  userId: string
  /** The address the link was sent to: for an email verification, the address it proves (a new one, for a change). */
  email: string
  /**
   * A fingerprint of what the token was issued against (the password hash for a reset,
   * the user's email then for a verification): the core acts only while it still holds.
   */
  binding: string
  createdAt: number
  expiresAt: number
}

export interface AccountTokenPort {
  insert: (token: AccountToken) => Promise<void>
  /** The token with this hash and purpose, unexpired at `now`; undefined otherwise. Changes nothing. */
  find: (hash: string, purpose: AccountTokenPurpose, now: number) => Promise<AccountToken | undefined>
  /**
   * Atomically deletes the token with this hash and purpose and returns it, when it is
   * unexpired at `now`; undefined, with nothing returned to anyone else, otherwise. Of any
   * number of concurrent calls with one hash, on any connections, exactly one gets it.
   */
  consume: (hash: string, purpose: AccountTokenPurpose, now: number) => Promise<AccountToken | undefined>
  /** Deletes every token of the user with this purpose (a reset voids the other links). Returns how many. */
  deleteByUser: (userId: string, purpose: AccountTokenPurpose) => Promise<number>
  /** Deletes tokens with expiresAt <= now. Returns how many. */
  prune: (now: number) => Promise<number>
}

/**
 * A personal access token (API key) of a user. The key itself is never stored: only its
 * SHA-256, and its first characters so that the user can recognise it in a list.
 */
export interface ApiKeyRecord {
  /** Short public id (what lists, routes and audit events name the key by). */
  id: string
  userId: string
  /** The user's label for it, 1 to 100 characters. */
  name: string
  /** SHA-256 (hex) of the whole key, prefix included. Unique. */
  hash: string
  /** The key's prefix and first characters (at most 32), shown in lists. */
  start: string
  /** What the key may do: names from the application's scope catalogue, at most 64. */
  scopes: string[]
  createdAt: number
  /** After this the key is refused; null: it never expires. */
  expiresAt: number | null
  /** When it was last used, to the minute (written in batches); null while never used. */
  lastUsedAt: number | null
  revokedAt: number | null
  /** The session the key was created from (for the audit trail); null when created by the application. */
  createdBySession: string | null
}

/** A key found by its hash, with its user as they are now. */
export interface FoundApiKey {
  key: ApiKeyRecord
  user: UserRecord
}

/** One key's latest use, for `recordUse`. */
export interface ApiKeyUse {
  id: string
  lastUsedAt: number
}

export interface ApiKeyPort {
  /**
   * Inserts a key. Atomically, serialised with `users.update` and `users.delete` of the
   * same user (take the user's row lock first): only while the user exists, is not
   * disabled, and has fewer than `maxPerUser` unrevoked keys. False, with nothing
   * written, otherwise.
   */
  insert: (key: ApiKeyRecord, maxPerUser: number) => Promise<boolean>
  /**
   * The key with this hash (revoked and expired ones too) and its user, in one indexed
   * lookup; undefined when no key has it.
   */
  findByHash: (hash: string) => Promise<FoundApiKey | undefined>
  /** The user's unrevoked keys (expired ones too, until pruned), by ascending createdAt then id. */
  listByUser: (userId: string) => Promise<ApiKeyRecord[]>
  /** Renames the user's unrevoked key `id`. False when the user has no such key. */
  rename: (userId: string, id: string, name: string) => Promise<boolean>
  /**
   * Atomically revokes the user's unrevoked key `id` (revokedAt = now) and appends a
   * `token` revocation with the key's id as subject, expiring at `revocationExpiresAt`.
   * True only for the call that revoked it; false, with nothing written, otherwise.
   */
  revoke: (userId: string, id: string, now: number, revocationExpiresAt: number) => Promise<boolean>
  /**
   * Atomically revokes every unrevoked key of the user and appends one `token` revocation
   * per key, like `revoke`. Returns the ids revoked (none: nothing written).
   */
  revokeAllByUser: (userId: string, now: number, revocationExpiresAt: number) => Promise<string[]>
  /** Raises each key's lastUsedAt to the given time (never lowers it); unknown ids are ignored. */
  recordUse: (uses: readonly ApiKeyUse[]) => Promise<void>
  /** Deletes keys revoked at or before `now`, or expired at `now`. Returns how many. */
  prune: (now: number) => Promise<number>
}

/**
 * A user's TOTP authenticator (RFC 6238). The secret is stored encrypted by the core; the
 * store never sees it in the clear.
 */
export interface TotpFactor {
  userId: string
  /** The secret as the core encrypted it (opaque to the store, at most 200 characters). */
  encryptedSecret: string
  createdAt: number
  /** When the first valid code confirmed it; null while enrollment is pending (it does not count as a factor). */
  confirmedAt: number | null
  /** The highest time step a code was accepted at: a code of this step or an earlier one is refused. */
  lastUsedStep: number
}

export interface TotpPort {
  /**
   * Stores a pending (unconfirmed) factor for the user, replacing a pending one. Atomically:
   * false, with nothing written, when the user has a confirmed factor or does not exist.
   */
  stage: (factor: TotpFactor) => Promise<boolean>
  /** The user's factor, pending or confirmed; undefined when none. */
  find: (userId: string) => Promise<TotpFactor | undefined>
  /**
   * Atomically confirms the pending factor whose secret is `encryptedSecret` (the one the
   * caller checked the code against): confirmedAt = now, lastUsedStep = step. False, with
   * nothing written, when that factor is no longer the user's pending one.
   */
  confirm: (userId: string, encryptedSecret: string, step: number, now: number) => Promise<boolean>
  /**
   * The replay guard. Atomically, only while the user's factor is confirmed, still has the
   * secret `encryptedSecret`, and its lastUsedStep is below `step`: sets lastUsedStep = step.
   * Of any number of concurrent calls with one step, on any connections, exactly one gets true.
   */
  useStep: (userId: string, encryptedSecret: string, step: number) => Promise<boolean>
  /** Deletes the user's factor (pending or confirmed). False when there was none. */
  remove: (userId: string) => Promise<boolean>
}

export interface RecoveryCodePort {
  /** Atomically replaces the user's codes (used ones too) with these hashes. */
  replace: (userId: string, hashes: readonly string[], now: number) => Promise<void>
  /**
   * Atomically marks the user's unused code with this hash used (usedAt = now). Of any
   * number of concurrent calls with one hash, exactly one gets true.
   */
  use: (userId: string, hash: string, now: number) => Promise<boolean>
  /** How many of the user's codes are unused. */
  countUnused: (userId: string) => Promise<number>
  /** Deletes every code of the user. Returns how many. */
  removeAll: (userId: string) => Promise<number>
}

/** A WebAuthn credential (passkey) of a user. */
export interface PasskeyRecord {
  /** The credential id (base64url, at most 1364 characters). Unique. */
  id: string
  userId: string
  /** The user's label for it, 1 to 100 characters. */
  name: string
  /** The COSE public key, base64url. */
  publicKey: string
  /** The signature counter last seen (0 for authenticators that keep none). */
  counter: number
  /** Transports the authenticator reported (usb, nfc, ble, internal, hybrid…). */
  transports: string[]
  /** 'multiDevice' when the credential may be synced (backup eligible), 'singleDevice' otherwise: fixed for its life. */
  deviceType: 'singleDevice' | 'multiDevice'
  /** Whether the credential was backed up at its last use. */
  backedUp: boolean
  createdAt: number
  lastUsedAt: number | null
}

/** A passkey found by its credential id, with its user as they are now. */
export interface FoundPasskey {
  passkey: PasskeyRecord
  user: UserRecord
}

/** What a successful passkey assertion writes back. */
export interface PasskeyUse {
  /** The counter the assertion was checked against: the write happens only while it is still stored. */
  previousCounter: number
  counter: number
  backedUp: boolean
  now: number
}

export interface PasskeyPort {
  /**
   * Inserts a passkey. Atomically, serialised with `users.update` and `users.delete` of the
   * same user (take the user's row lock first): only while the user exists, is not
   * disabled, and has fewer than `maxPerUser` passkeys, and no passkey has this id. False,
   * with nothing written, otherwise.
   */
  insert: (passkey: PasskeyRecord, maxPerUser: number) => Promise<boolean>
  /** The passkey with this credential id and its user, in one indexed lookup; undefined when none. */
  findById: (id: string) => Promise<FoundPasskey | undefined>
  /** The user's passkeys by ascending createdAt then id. */
  listByUser: (userId: string) => Promise<PasskeyRecord[]>
  /** Renames the user's passkey `id`. False when the user has no such passkey. */
  rename: (userId: string, id: string, name: string) => Promise<boolean>
  /** Deletes the user's passkey `id`. True only for the call that deleted it. */
  remove: (userId: string, id: string) => Promise<boolean>
  /**
   * The counter's compare-and-set: atomically, only while passkey `id` still has
   * `use.previousCounter`, stores the new counter, backedUp and lastUsedAt = now. Of any
   * number of concurrent calls with one previousCounter, exactly one gets true.
   */
  recordUse: (id: string, use: PasskeyUse) => Promise<boolean>
}

/** What a challenge lets its holder do, once. */
export type ChallengePurpose = 'mfa_login' | 'passkey_login' | 'passkey_registration'

/**
 * A single-use server challenge: the pending second step of a login, or a WebAuthn
 * challenge. Only its hash is kept.
 */
export interface Challenge {
  /** SHA-256 (hex) of the challenge value. */
  hash: string
  purpose: ChallengePurpose
  /** The user it is for; null for a passkey sign-in that has not named one yet. */
  userId: string | null
  /**
   * What it is bound to (at most 200 characters): the core acts only when the request that
   * spends it presents the same (a client address, a session id, a login challenge).
   */
  binding: string
  createdAt: number
  expiresAt: number
}

export interface ChallengePort {
  insert: (challenge: Challenge) => Promise<void>
  /** The challenge with this hash and purpose, unexpired at `now`; undefined otherwise. Changes nothing. */
  find: (hash: string, purpose: ChallengePurpose, now: number) => Promise<Challenge | undefined>
  /**
   * Atomically deletes the challenge with this hash and purpose and returns it, when it is
   * unexpired at `now`; undefined otherwise. Of any number of concurrent calls with one
   * hash, on any connections, exactly one gets it.
   */
  consume: (hash: string, purpose: ChallengePurpose, now: number) => Promise<Challenge | undefined>
  /** Deletes challenges with expiresAt <= now. Returns how many. */
  prune: (now: number) => Promise<number>
}

/** A store: the ten ports, plus the schema setup where the backend has one. */
export interface AuthStore {
  readonly users: UserPort
  readonly families: RefreshFamilyPort
  readonly revocations: RevocationPort
  readonly attempts: LoginAttemptPort
  readonly accountTokens: AccountTokenPort
  readonly apiKeys: ApiKeyPort
  readonly totp: TotpPort
  readonly recoveryCodes: RecoveryCodePort
  readonly passkeys: PasskeyPort
  readonly challenges: ChallengePort
  /** Application fields users may carry in `profile` (the knex store's profileColumns). Default none. */
  readonly profileFields?: readonly string[] | undefined
  /** Creates or upgrades what the store needs. Safe to call on every start, from several instances at once. */
  migrate: () => Promise<void>
}
