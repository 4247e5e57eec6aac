/**
 * The store contract: four small ports through which the core keeps every piece of
 * shared state. Each method says what it must do atomically; the policy (who may log in,
 * how long a lockout lasts, when a family is stolen) lives in the core, written once.
 *
 * Times are seconds since the epoch. A store may keep whole seconds (the knex store
 * does): the core compares at that resolution. Methods resolve with plain data the
 * caller may keep and change; they never hand out their own objects.
 *
 * Errors: a method throws UsernameTakenError where it says so; any failure to reach the
 * backend should be a StoreUnavailableError (503), never a raw driver error.
 */

/** A user as the store keeps it. */
export interface UserRecord {
  id: string
  /** Normalised (NFKC, lower case): the spelling logins are matched against. */
  username: string
  email: string | null
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
  roles?: string[] | undefined
  disabled?: boolean | undefined
  profile?: Record<string, unknown> | undefined
}

export interface UserUpdate {
  set: UserChanges
  /** Apply only while these fields still hold these values (compare-and-set). */
  expect?: { passwordHash?: string | undefined, disabled?: boolean | undefined } | undefined
  /**
   * End every token the user holds, in the same atomic step as the change: raise
   * tokenVersion by one, revoke every refresh-token family of the user, and append a
   * `user` revocation at the new version that expires at `expiresAt`.
   */
  revokeTokens?: { now: number, expiresAt: number } | undefined
}

export interface UserPort {
  /** Inserts a new user; UsernameTakenError when the username exists (a unique index, not a read first). */
  insert: (user: UserRecord) => Promise<void>
  findById: (id: string) => Promise<UserRecord | undefined>
  /** By the normalised username, exactly as stored. */
  findByUsername: (username: string) => Promise<UserRecord | undefined>
  /**
   * Atomically applies `update` to one user and returns the user as it now is, or
   * undefined when no user has this id or an `expect` did not hold (nothing changed).
   */
  update: (id: string, update: UserUpdate) => Promise<UserRecord | undefined>
  /**
   * Atomically deletes the user and their refresh-token families, and appends a `user`
   * revocation at tokenVersion + 1, like `revokeTokens`. False when no such user.
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
}

/** A refresh token as issued: only its hash is kept. */
export interface IssuedRefreshToken {
  hash: string
  expiresAt: number
}

export type NewRefreshFamily = Pick<RefreshFamily, 'id' | 'userId' | 'tokenVersion' | 'createdAt' | 'expiresAt'>

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
   * `now` as rotatedAt). False, with nothing changed, otherwise.
   *
   * It must serialise with `revoke` and with a user-wide revocation on the same family:
   * once either has returned, no rotation of that family can succeed, on any isolation
   * level (a conditional UPDATE of the family row does this; inserting rows does not).
   */
  rotate: (familyId: string, spentHash: string, successor: IssuedRefreshToken, now: number) => Promise<boolean>
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

export interface RevocationPort {
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

/** A store: the four ports, plus the schema setup where the backend has one. */
export interface AuthStore {
  readonly users: UserPort
  readonly families: RefreshFamilyPort
  readonly revocations: RevocationPort
  readonly attempts: LoginAttemptPort
  /** Application fields users may carry in `profile` (the knex store's profileColumns). Default none. */
  readonly profileFields?: readonly string[] | undefined
  /** Creates or upgrades what the store needs. Safe to call on every start, from several instances at once. */
  migrate: () => Promise<void>
}
