import type { PasswordHasher } from '../passwords/password-hasher.js'
import type { Revocation, RevocationQuery, StoredRevocation } from '../store/ports.js'

/** A user as the store keeps it. Times are seconds since the epoch. */
export interface UserRecord {
  id: string
  /** Normalised (NFKC, lower case): the spelling logins are matched against. */
  username: string
  email: string | null
  roles: string[]
  disabled: boolean
  /** Raised by log-out-everywhere, password changes, disabling and deletion; tokens carry it as `ver`. */
  tokenVersion: number
  passwordHash: string
  createdAt: number
  /** Application fields (the knex store's `profileColumns`). */
  profile: Record<string, unknown>
}

/** What `createUser` takes. The password is plain text; the store hashes it. */
export interface NewUser {
  username: string
  password: string
  email?: string | null
  roles?: string[]
  disabled?: boolean
  profile?: Record<string, unknown>
}

export interface RefreshTokenRow {
  /** SHA-256 of the token, hex; the token itself is never stored. */
  tokenHash: string
  userId: string
  familyId: string
  /** The user's token version when the family started; a later version makes it invalid. */
  tokenVersion: number
  issuedAt: number
  expiresAt: number
  /** Absolute end of the session: rotation never extends past it. */
  sessionExpiresAt: number
}

export interface StoredRefreshToken extends RefreshTokenRow {
  usedAt: number | null
  revokedAt: number | null
}

export type SpendResult =
  | { spent: true, token: StoredRefreshToken }
  | { spent: false, token: StoredRefreshToken | undefined }

/** Failed logins counted under one key (an account or a client address). */
export interface LoginFailureCount {
  key: string
  failures: number
  windowStartedAt: number
  lastFailureAt: number
}

export interface PruneResult {
  refreshTokens: number
  revocations: number
  loginFailures: number
}

/**
 * Everything the plugin keeps: users, refresh tokens, revocations and login failure
 * counters. Implementations: createMemoryUserStore (one process) and
 * createKnexUserStore (any database knex speaks; shared by many instances).
 * Methods that change who may hold a token write a revocation row in the same
 * transaction, so every instance syncing revocations learns about it.
 */
export interface UserStore {
  /** Revocations with afterId < id (< beforeId when given), by ascending id, at most `limit` when given. */
  listRevocations: (query: RevocationQuery) => Promise<StoredRevocation[]>

  readonly passwordHasher: PasswordHasher
  /** How long user-wide revocations are kept; access tokens must not live longer. */
  readonly userRevocationRetentionSeconds: number

  /** Creates or upgrades the tables. Safe to call on every start and from several instances. */
  migrate: () => Promise<void>

  createUser: (user: NewUser) => Promise<UserRecord>
  findUserById: (id: string) => Promise<UserRecord | undefined>
  /** Looks up by the normalised username; unknown or unusable names give undefined. */
  findUserByUsername: (username: string) => Promise<UserRecord | undefined>
  /** Replaces the hash only if it is still `previousHash` (rehash on login must not undo a password change). */
  replacePasswordHash: (id: string, previousHash: string, newHash: string) => Promise<void>
  /** Sets a new password and invalidates every token the user holds. */
  changePassword: (id: string, newPassword: string) => Promise<UserRecord>
  /** Disabling invalidates every token the user holds; enabling lets them log in again. */
  setDisabled: (id: string, disabled: boolean) => Promise<void>
  /** Invalidates every access and refresh token the user holds (log out everywhere). */
  revokeUserTokens: (id: string) => Promise<void>
  deleteUser: (id: string) => Promise<void>

  insertRefreshToken: (token: RefreshTokenRow) => Promise<void>
  findRefreshToken: (tokenHash: string) => Promise<StoredRefreshToken | undefined>
  /**
   * Atomically marks the token used if it is unused, unrevoked and unexpired, and in the
   * same transaction stores the successor built from it. Returns what was found.
   */
  spendRefreshToken: (tokenHash: string, now: number, successor: (spent: StoredRefreshToken) => RefreshTokenRow) => Promise<SpendResult>
  /** Revokes every refresh token of a family and records the session revocation. */
  revokeSession: (familyId: string, now: number, accessTokensExpireBy: number) => Promise<void>

  addRevocation: (revocation: Revocation) => Promise<void>
  /**
   * Calls `listener` after every revocation this store object commits (including the
   * user-wide ones behind changePassword, setDisabled, revokeUserTokens and deleteUser),
   * so the instance that made a revocation applies it at once. Returns an unsubscribe function.
   */
  onRevocation: (listener: (revocation: Revocation) => void) => () => void

  loginFailures: (keys: readonly string[]) => Promise<LoginFailureCount[]>
  /** Adds one failure to each key, atomically; a key whose window has passed starts again at 1. */
  recordLoginFailure: (keys: readonly string[], now: number, windowSeconds: number) => Promise<void>
  clearLoginFailures: (key: string) => Promise<void>

  /** Deletes expired refresh tokens and revocations, and failure counters last touched before `failuresBefore`. */
  pruneExpired: (now: number, failuresBefore: number) => Promise<PruneResult>
}
