import { normalisePassword } from '../accounts/password-input.js'
import type { PasswordHasher } from '../accounts/password-hasher.js'
import type { UserRecord } from '../store/ports.js'
import type { CredentialFailureReason } from './login-failed-error.js'

export type PasswordCheckResult = { ok: true, user: UserRecord, password: string } | { ok: false, reason: CredentialFailureReason }

/**
 * Checks a password against a user. Unknown users, wrong passwords and disabled users
 * fail alike after the same bcrypt work (a dummy hash stands in for a missing user). A
 * password bcrypt cannot take whole (over 72 bytes, NUL) is simply wrong, at no bcrypt
 * cost for anyone, known user or not, so it tells nothing either.
 */
export async function checkPassword (hasher: PasswordHasher, user: UserRecord | undefined, password: string): Promise<PasswordCheckResult> {
  const candidate = normalisePassword(password, 1)
  if (!candidate.ok) return { ok: false, reason: 'unusable_password' }
  const matches = await hasher.verify(candidate.password, user?.passwordHash ?? await hasher.dummyHash())
  if (user === undefined) return { ok: false, reason: 'unknown_user' }
  if (!matches) return { ok: false, reason: 'wrong_password' }
  if (user.disabled) return { ok: false, reason: 'disabled_user' }
  return { ok: true, user, password: candidate.password }
}
