import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { AccountToken, ApiKeyRecord, AuthStore, Challenge, IssuedRefreshToken, NewRefreshFamily, PasskeyRecord, TotpFactor, UserRecord } from '../ports.js'

/**
 * One case of the store contract. `open()` gives a store over this case's data, empty
 * when the case starts; every further call must give another connection to the SAME
 * data (a second pool, another process's view), which is how the cases test that the
 * guarantees hold between application instances. A store kept in one process's memory
 * may return the same object each time.
 */
export interface StoreContractCase {
  name: string
  run: (open: () => Promise<AuthStore>) => Promise<void>
}

/** An arbitrary fixed time, in whole seconds as every store keeps them. */
export const NOW = 1_700_000_000

export async function twoConnections (open: () => Promise<AuthStore>): Promise<[AuthStore, AuthStore]> {
  return [await open(), await open()]
}

export function newUser (overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: randomUUID(),
    username: `user-${randomBytes(6).toString('hex')}`,
    email: null,
    emailVerifiedAt: null,
    roles: [],
    disabled: false,
    tokenVersion: 0,
    passwordHash: `$2b$10$${randomBytes(40).toString('base64url').slice(0, 53)}`,
    createdAt: NOW,
    profile: {},
    ...overrides
  }
}

/** A refresh token hash as the core makes them: SHA-256 in hex. */
export function newToken (expiresAt = NOW + 3600): IssuedRefreshToken {
  return { hash: randomBytes(32).toString('hex'), expiresAt }
}

export function newFamily (userId: string, overrides: Partial<NewRefreshFamily> = {}): NewRefreshFamily {
  return { id: randomUUID(), userId, tokenVersion: 0, createdAt: NOW, expiresAt: NOW + 86_400, clientAddress: null, userAgent: null, authMethods: ['pwd'], ...overrides }
}

/** An account token as the core makes them: a SHA-256 hex hash, a fingerprint as binding. */
export function newAccountToken (userId: string, overrides: Partial<AccountToken> = {}): AccountToken {
  return {
    hash: randomBytes(32).toString('hex'),
    purpose: 'password_reset',
    userId,
    email: `${randomBytes(4).toString('hex')}@example.com`,
    binding: createHash('sha256').update(randomBytes(8)).digest('hex'),
    createdAt: NOW,
    expiresAt: NOW + 3600,
    ...overrides
  }
}

/** Runs `count` calls of `call` at once and sorts their outcomes. */
export async function concurrently<T> (count: number, call: (index: number) => Promise<T>): Promise<{ values: T[], errors: unknown[] }> {
  const settled = await Promise.allSettled(Array.from({ length: count }, async (_, index) => await call(index)))
  return {
    values: settled.flatMap((outcome) => outcome.status === 'fulfilled' ? [outcome.value] : []),
    errors: settled.flatMap((outcome) => outcome.status === 'rejected' ? [outcome.reason] : [])
  }
}

/** An API key as the core makes them: a short id, the SHA-256 (hex) of the key, its first characters. */
export function newApiKey (userId: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: randomBytes(12).toString('base64url'),
    userId,
    name: 'deploy',
    hash: randomBytes(32).toString('hex'),
    start: `fta_live_${randomBytes(3).toString('hex')}`,
    scopes: ['reports:read'],
    createdAt: NOW,
    expiresAt: NOW + 86_400,
    lastUsedAt: null,
    revokedAt: null,
    createdBySession: randomUUID(),
    ...overrides
  }
}

/** A pending TOTP factor, its secret shaped as the core encrypts them (`v1.<keyId>.<iv>.<ciphertext>.<tag>`). */
export function newTotpFactor (userId: string, overrides: Partial<TotpFactor> = {}): TotpFactor {
  const part = (bytes: number): string => randomBytes(bytes).toString('base64url')
  return {
    userId,
    encryptedSecret: `v1.${randomBytes(4).toString('hex')}.${part(12)}.${part(20)}.${part(16)}`,
    createdAt: NOW,
    confirmedAt: null,
    lastUsedStep: 0,
    ...overrides
  }
}

/** Hashes of recovery codes as the core keeps them: HMAC-SHA256 in hex. */
export function newCodeHashes (count = 10): string[] {
  return Array.from({ length: count }, () => randomBytes(32).toString('hex'))
}

/** A passkey as the core stores it after a registration: base64url credential id and key. */
export function newPasskey (userId: string, overrides: Partial<PasskeyRecord> = {}): PasskeyRecord {
  return {
    id: randomBytes(32).toString('base64url'),
    userId,
    name: 'laptop',
    publicKey: randomBytes(77).toString('base64url'),
    counter: 0,
    transports: ['internal', 'hybrid'],
    deviceType: 'multiDevice',
    backedUp: true,
    createdAt: NOW,
    lastUsedAt: null,
    ...overrides
  }
}

/** A challenge as the core makes them: a SHA-256 hex hash, bound to a client address key. */
export function newChallenge (userId: string | null, overrides: Partial<Challenge> = {}): Challenge {
  return {
    hash: randomBytes(32).toString('hex'),
    purpose: 'mfa_login',
    userId,
    binding: `address:192.0.2.${randomBytes(1)[0]}`,
    createdAt: NOW,
    expiresAt: NOW + 300,
    ...overrides
  }
}
