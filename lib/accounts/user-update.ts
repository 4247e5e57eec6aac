import type { UserChanges, UserRecord, UserUpdate } from '../store/ports.js'
import { checkEmail, checkProfile, checkRoles } from './user-input.js'

/** What an application may change about a user with `updateUser`. */
export interface UserProfileUpdate {
  email?: string | null | undefined
  roles?: string[] | undefined
  profile?: Record<string, unknown> | undefined
}

/** The changes, validated and normalised: what was not given is absent. */
export interface CheckedUserChanges {
  email?: string | null
  roles?: string[]
  profile?: Record<string, unknown>
}

export type UpdatedField = 'email' | 'roles' | 'profile'

/** One atomic write of a user update, decided against the user as last read. */
export interface UserUpdatePlan {
  update: Omit<UserUpdate, 'revokeTokens'>
  /** What the write changes, for the audit event. */
  fields: UpdatedField[]
  /** A role the user holds is taken away: the write must end every session of the user. */
  removesRole: boolean
}

/** Validates every field before anything is read or written. */
export function checkUserChanges (changes: UserProfileUpdate, profileFields: readonly string[]): CheckedUserChanges {
  const checked: CheckedUserChanges = {}
  if (changes.email !== undefined) checked.email = checkEmail(changes.email)
  if (changes.roles !== undefined) checked.roles = checkRoles(changes.roles)
  if (changes.profile !== undefined) checked.profile = checkProfile(changes.profile, profileFields)
  return checked
}

/**
 * The write that applies `changes` to `current`, on condition (`expect`) that what it was
 * decided from still holds when it lands:
 * - the email, when it is the one the user already has, keeps its proof of verification
 *   while it is still that email;
 * - roles that take none away end no session while the roles are still the ones read (an
 *   admin's write from an older read must not drop a role another admin just granted
 *   without ending the sessions that got it).
 * `conditional: false` is the last resort after such conditions kept failing: no
 * condition, the email treated as new, and any role change ending every session.
 */
export function planUserUpdate (current: UserRecord, changes: CheckedUserChanges, conditional = true): UserUpdatePlan {
  const set: UserChanges = {}
  const fields: UpdatedField[] = []
  const expect: NonNullable<UserUpdate['expect']> = {}
  if (changes.email !== undefined) {
    if (conditional && changes.email === current.email) {
      expect.email = current.email
    } else {
      set.email = changes.email
      // An address set by the application is unproven until the user follows a link sent to it.
      set.emailVerifiedAt = null
      if (changes.email !== current.email) fields.push('email')
    }
  }
  let removesRole = false
  if (changes.roles !== undefined) {
    const next = changes.roles
    set.roles = next
    removesRole = current.roles.some((role) => !next.includes(role))
    if (removesRole || next.some((role) => !current.roles.includes(role))) fields.push('roles')
    if (!conditional) removesRole = fields.includes('roles')
    else if (!removesRole) expect.roles = current.roles
  }
  if (changes.profile !== undefined) {
    const profile = changes.profile
    set.profile = profile
    if (Object.keys(profile).some((field) => current.profile[field] !== profile[field])) fields.push('profile')
  }
  return { update: { set, expect: Object.keys(expect).length > 0 ? expect : undefined }, fields, removesRole }
}
