import { randomUUID } from 'node:crypto'
import { InvalidUserError } from '../errors.js'
import type { UserRecord } from '../store/ports.js'
import { normaliseEmail } from './email-address.js'
import { normaliseUsername } from './username.js'

/** What `createUser` takes. The password is plain text; accounts hash it. */
export interface NewUser {
  username: string
  password: string
  email?: string | null | undefined
  /**
   * The application already knows the address reaches the user (an import, an identity
   * provider's verified email): stored as verified at creation. Default false.
   */
  emailVerified?: boolean | undefined
  roles?: string[] | undefined
  disabled?: boolean | undefined
  profile?: Record<string, unknown> | undefined
}

export const MAX_ROLE_LENGTH = 64

export function checkRoles (roles: unknown): string[] {
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string' && role.length > 0 && role.length <= MAX_ROLE_LENGTH)) {
    throw new InvalidUserError(`roles must be an array of non-empty strings of at most ${MAX_ROLE_LENGTH} characters`)
  }
  return [...new Set(roles as string[])]
}

/** The normalised email (see email-address.ts), or null for none. */
export function checkEmail (email: unknown): string | null {
  return email === undefined || email === null ? null : normaliseEmail(email)
}

export function checkProfile (profile: unknown, fields: readonly string[]): Record<string, unknown> {
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile)) throw new InvalidUserError('profile must be an object')
  for (const field of Object.keys(profile)) {
    if (!fields.includes(field)) throw new InvalidUserError(`profile field "${field}" is not one of the store's profile fields (${fields.join(', ') || 'none'})`)
  }
  return profile as Record<string, unknown>
}

/** Validates a NewUser and builds the record to insert, with the password already hashed. */
export function userRecordFrom (input: NewUser, passwordHash: string, profileFields: readonly string[], now: number): UserRecord {
  const profile = checkProfile(input.profile ?? {}, profileFields)
  const email = checkEmail(input.email)
  return {
    id: randomUUID(),
    username: normaliseUsername(input.username),
    email,
    emailVerifiedAt: input.emailVerified === true && email !== null ? Math.floor(now) : null,
    roles: checkRoles(input.roles ?? []),
    disabled: input.disabled === true,
    tokenVersion: 0,
    passwordHash,
    createdAt: Math.floor(now),
    profile: Object.fromEntries(profileFields.map((field) => [field, profile[field] ?? null]))
  }
}

/** Checks the shape of createUser's input before any password work. */
export function assertNewUserShape (input: unknown): asserts input is NewUser {
  if (typeof input !== 'object' || input === null) throw new InvalidUserError('createUser needs { username, password }')
}
