import { randomUUID } from 'node:crypto'
import { toSeconds, type Duration } from '../duration.js'
import { InvalidOptionError, InvalidUserError, PasswordRejectedError } from '../errors.js'
import { normalisePassword } from '../passwords/password-input.js'
import { BcryptPasswordHasher, type PasswordHasher } from '../passwords/password-hasher.js'
import { normaliseUsername } from '../users/username.js'
import { checkProfileColumns } from '../store/knex/knex-store-options.js'
import type { NewUser, UserRecord } from './user-store.js'

/** Options every store takes. */
export interface StoreOptions {
  /** bcrypt cost for new hashes; logins rehash older, cheaper hashes. Default 12, at least 10. */
  bcryptCost?: number
  /** bcrypt computations at once. Default: UV_THREADPOOL_SIZE - 1 (3), keeping one libuv thread free. */
  bcryptConcurrency?: number
  /** Replaces bcrypt hashing altogether (bcryptCost is then ignored). */
  passwordHasher?: PasswordHasher
  /** Shortest password createUser and changePassword accept, in characters. Default 8. */
  minPasswordLength?: number
  /** How long user-wide revocations are kept; must cover the access-token lifetime. Default '1d'. */
  userRevocationRetention?: Duration
  /**
   * Application fields of a user, written by createUser from `profile` and returned in
   * `user.profile`. For the knex store they are columns the application added to the
   * users table with its own migration.
   */
  profileColumns?: readonly string[]
}

export interface ResolvedStoreOptions {
  passwordHasher: PasswordHasher
  minPasswordLength: number
  userRevocationRetentionSeconds: number
  profileColumns: readonly string[]
}

const MAX_EMAIL_LENGTH = 254

export function resolveStoreOptions (options: StoreOptions): ResolvedStoreOptions {
  const minPasswordLength = options.minPasswordLength ?? 8
  if (!Number.isInteger(minPasswordLength) || minPasswordLength < 1 || minPasswordLength > 64) {
    throw new InvalidOptionError(`minPasswordLength must be an integer from 1 to 64; got ${JSON.stringify(minPasswordLength)}`)
  }
  return {
    passwordHasher: options.passwordHasher ?? new BcryptPasswordHasher(options.bcryptCost, options.bcryptConcurrency),
    minPasswordLength,
    userRevocationRetentionSeconds: toSeconds(options.userRevocationRetention ?? '1d', 'userRevocationRetention', 60),
    profileColumns: checkProfileColumns(options.profileColumns ?? [])
  }
}

/** Checks a password against the policy and hashes it; a clear 400 error otherwise. */
export async function hashNewPassword (password: unknown, options: ResolvedStoreOptions): Promise<string> {
  const check = normalisePassword(password, options.minPasswordLength)
  if (!check.ok) throw new PasswordRejectedError(check.reason)
  return await options.passwordHasher.hash(check.password)
}

function checkRoles (roles: unknown): string[] {
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string' && role.length > 0 && role.length <= 64)) {
    throw new InvalidUserError('roles must be an array of non-empty strings of at most 64 characters')
  }
  return [...new Set(roles as string[])]
}

function checkEmail (email: unknown): string | null {
  if (email === undefined || email === null) return null
  if (typeof email !== 'string' || email.length > MAX_EMAIL_LENGTH || !email.includes('@')) {
    throw new InvalidUserError(`email must be an address of at most ${MAX_EMAIL_LENGTH} characters, or null`)
  }
  return email
}

/** Validates a NewUser and builds the record to insert (hashing the password). */
export async function prepareUser (input: NewUser, options: ResolvedStoreOptions, now: number): Promise<UserRecord> {
  if (typeof input !== 'object' || input === null) throw new InvalidUserError('createUser needs { username, password }')
  const username = normaliseUsername(input.username)
  const email = checkEmail(input.email)
  const roles = checkRoles(input.roles ?? [])
  const profile = input.profile ?? {}
  for (const field of Object.keys(profile)) {
    if (!options.profileColumns.includes(field)) throw new InvalidUserError(`profile field "${field}" is not one of the store's profileColumns (${options.profileColumns.join(', ') || 'none'})`)
  }
  return {
    id: randomUUID(),
    username,
    email,
    roles,
    disabled: input.disabled === true,
    tokenVersion: 0,
    passwordHash: await hashNewPassword(input.password, options),
    createdAt: Math.floor(now),
    profile: Object.fromEntries(options.profileColumns.map((column) => [column, profile[column] ?? null]))
  }
}
