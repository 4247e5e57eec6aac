import type { AccountToken, AccountTokenPurpose, ApiKeyRecord, AttemptCounter, RefreshFamily, RevocationKind, StoredRevocation, UserChanges, UserRecord } from '../ports.js'

// Drivers disagree on types: pg returns BIGINT as strings, MySQL and SQLite booleans
// as 0/1. Every value read goes through Number()/Boolean() so one mapping fits all.
// Times are written as whole seconds: the core compares at that resolution.
export type Row = Record<string, unknown>

const optionalNumber = (value: unknown): number | null => value === null ? null : Number(value)
const optionalString = (value: unknown): string | null => value === null ? null : String(value)
export const seconds = Math.floor
const optionalSeconds = (value: number | null): number | null => value === null ? null : seconds(value)

export function userFromRow (row: Row, profileColumns: readonly string[]): UserRecord {
  const profile: Record<string, unknown> = {}
  for (const column of profileColumns) profile[column] = row[column]
  return {
    id: String(row.id),
    username: String(row.username),
    email: optionalString(row.email),
    emailVerifiedAt: optionalNumber(row.email_verified_at),
    roles: JSON.parse(String(row.roles)) as string[],
    disabled: Boolean(row.disabled),
    tokenVersion: Number(row.token_version),
    passwordHash: String(row.password_hash),
    createdAt: Number(row.created_at),
    profile
  }
}

/** The columns `changes` sets; profile fields outside `profileColumns` have no column and are not kept. */
export function userChangesToRow (changes: UserChanges, profileColumns: readonly string[]): Row {
  const row: Row = {}
  if (changes.passwordHash !== undefined) row.password_hash = changes.passwordHash
  if (changes.email !== undefined) row.email = changes.email
  if (changes.emailVerifiedAt !== undefined) row.email_verified_at = changes.emailVerifiedAt === null ? null : seconds(changes.emailVerifiedAt)
  if (changes.roles !== undefined) row.roles = JSON.stringify(changes.roles)
  if (changes.disabled !== undefined) row.disabled = changes.disabled
  for (const column of profileColumns) {
    if (changes.profile !== undefined && column in changes.profile) row[column] = changes.profile[column]
  }
  return row
}

export function userToRow (user: UserRecord, profileColumns: readonly string[]): Row {
  return {
    id: user.id,
    username: user.username,
    token_version: user.tokenVersion,
    created_at: seconds(user.createdAt),
    updated_at: seconds(user.createdAt),
    ...userChangesToRow({ ...user, profile: { ...Object.fromEntries(profileColumns.map((column) => [column, null])), ...user.profile } }, profileColumns)
  }
}

export function familyFromRow (row: Row): RefreshFamily {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    tokenVersion: Number(row.token_version),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    currentTokenHash: String(row.current_token_hash),
    previousTokenHash: optionalString(row.previous_token_hash),
    rotatedAt: optionalNumber(row.rotated_at),
    revokedAt: optionalNumber(row.revoked_at),
    clientAddress: optionalString(row.client_address),
    userAgent: optionalString(row.user_agent),
    authMethods: JSON.parse(String(row.auth_methods)) as string[]
  }
}

export function accountTokenFromRow (row: Row): AccountToken {
  return {
    hash: String(row.hash),
    purpose: row.purpose as AccountTokenPurpose,
    userId: String(row.user_id),
    email: String(row.email),
    binding: String(row.binding),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at)
  }
}

export function accountTokenToRow (token: AccountToken): Row {
  return {
    hash: token.hash,
    purpose: token.purpose,
    user_id: token.userId,
    email: token.email,
    binding: token.binding,
    created_at: seconds(token.createdAt),
    expires_at: seconds(token.expiresAt)
  }
}

export function revocationFromRow (row: Row): StoredRevocation {
  return {
    id: Number(row.id),
    kind: row.kind as RevocationKind,
    subject: String(row.subject),
    version: Number(row.version),
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at)
  }
}

export function counterFromRow (row: Row): AttemptCounter {
  return {
    key: String(row.key),
    count: Number(row.count),
    windowStartedAt: Number(row.window_started_at),
    lockedUntil: Number(row.locked_until),
    lastAttemptAt: Number(row.last_attempt_at)
  }
}

export function counterToRow (counter: AttemptCounter): Row {
  return {
    key: counter.key,
    count: counter.count,
    window_started_at: seconds(counter.windowStartedAt),
    locked_until: seconds(counter.lockedUntil),
    last_attempt_at: seconds(counter.lastAttemptAt)
  }
}

export function apiKeyFromRow (row: Row): ApiKeyRecord {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    name: String(row.name),
    hash: String(row.hash),
    start: String(row.start),
    scopes: JSON.parse(String(row.scopes)) as string[],
    createdAt: Number(row.created_at),
    expiresAt: optionalNumber(row.expires_at),
    lastUsedAt: optionalNumber(row.last_used_at),
    revokedAt: optionalNumber(row.revoked_at),
    createdBySession: optionalString(row.created_by_session)
  }
}

export function apiKeyToRow (key: ApiKeyRecord): Row {
  return {
    id: key.id,
    user_id: key.userId,
    name: key.name,
    hash: key.hash,
    start: key.start,
    scopes: JSON.stringify(key.scopes),
    created_at: seconds(key.createdAt),
    expires_at: optionalSeconds(key.expiresAt),
    last_used_at: optionalSeconds(key.lastUsedAt),
    revoked_at: optionalSeconds(key.revokedAt),
    created_by_session: key.createdBySession
  }
}
