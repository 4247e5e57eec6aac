import type { StoredRevocation } from '../../sessions/revocation-list.js'
import type { RefreshTokenRow, StoredRefreshToken, UserRecord } from '../user-store.js'

// Drivers disagree on types: pg returns BIGINT as strings, MySQL and SQLite booleans
// as 0/1. Every value read goes through Number()/Boolean() so one mapping fits all.
type Row = Record<string, unknown>

const optionalNumber = (value: unknown): number | null => value === null ? null : Number(value)

export function userFromRow (row: Row, profileColumns: readonly string[]): UserRecord {
  const profile: Record<string, unknown> = {}
  for (const column of profileColumns) profile[column] = row[column]
  return {
    id: String(row.id),
    username: String(row.username),
    email: row.email === null ? null : String(row.email),
    roles: JSON.parse(String(row.roles)) as string[],
    disabled: Boolean(row.disabled),
    tokenVersion: Number(row.token_version),
    passwordHash: String(row.password_hash),
    createdAt: Number(row.created_at),
    profile
  }
}

export function userToRow (user: UserRecord): Row {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    roles: JSON.stringify(user.roles),
    password_hash: user.passwordHash,
    disabled: user.disabled,
    token_version: user.tokenVersion,
    created_at: user.createdAt,
    updated_at: user.createdAt,
    ...user.profile
  }
}

export function refreshTokenToRow (token: RefreshTokenRow): Row {
  return {
    token_hash: token.tokenHash,
    user_id: token.userId,
    family_id: token.familyId,
    token_version: token.tokenVersion,
    issued_at: Math.floor(token.issuedAt),
    expires_at: Math.floor(token.expiresAt),
    session_expires_at: Math.floor(token.sessionExpiresAt)
  }
}

export function refreshTokenFromRow (row: Row): StoredRefreshToken {
  return {
    tokenHash: String(row.token_hash),
    userId: String(row.user_id),
    familyId: String(row.family_id),
    tokenVersion: Number(row.token_version),
    issuedAt: Number(row.issued_at),
    expiresAt: Number(row.expires_at),
    sessionExpiresAt: Number(row.session_expires_at),
    usedAt: optionalNumber(row.used_at),
    revokedAt: optionalNumber(row.revoked_at)
  }
}

export function revocationFromRow (row: Row): StoredRevocation {
  return {
    id: Number(row.id),
    kind: row.kind as StoredRevocation['kind'],
    subject: String(row.subject),
    version: Number(row.version),
    expiresAt: Number(row.expires_at),
    createdAt: Number(row.created_at)
  }
}
