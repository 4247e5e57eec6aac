import { UserNotFoundError, UsernameTakenError } from '../errors.js'
import type { Revocation, StoredRevocation } from '../sessions/revocation-list.js'
import { tryNormaliseUsername } from '../users/username.js'
import { RevocationListeners } from './revocation-listeners.js'
import { hashNewPassword, prepareUser, resolveStoreOptions, type StoreOptions } from './store-options.js'
import type { LoginFailureCount, NewUser, PruneResult, RefreshTokenRow, SpendResult, StoredRefreshToken, UserRecord, UserStore } from './user-store.js'

const nowSeconds = (): number => Date.now() / 1000

function copyUser (user: UserRecord): UserRecord {
  return { ...user, roles: [...user.roles], profile: { ...user.profile } }
}

/**
 * A UserStore in this process's memory: for tests, prototypes and single-instance demos.
 * Nothing survives a restart and nothing is shared between processes; use
 * createKnexUserStore for that. Every method is atomic because no step awaits midway.
 */
export function createMemoryUserStore (options: StoreOptions = {}): UserStore {
  const resolved = resolveStoreOptions(options)
  const users = new Map<string, UserRecord>()
  const idByUsername = new Map<string, string>()
  const refreshTokens = new Map<string, StoredRefreshToken>()
  const revocations: StoredRevocation[] = []
  const failures = new Map<string, LoginFailureCount>()
  const listeners = new RevocationListeners()
  let nextRevocationId = 1

  function revoke (revocation: Revocation): void {
    const stored = { ...revocation, id: nextRevocationId++, createdAt: Math.floor(nowSeconds()) }
    revocations.push(stored)
    listeners.notify([stored])
  }

  function existingUser (id: string): UserRecord {
    const user = users.get(id)
    if (user === undefined) throw new UserNotFoundError()
    return user
  }

  function bumpTokenVersion (user: UserRecord): void {
    user.tokenVersion++
    const now = nowSeconds()
    for (const token of refreshTokens.values()) {
      if (token.userId === user.id && token.revokedAt === null) token.revokedAt = now
    }
    revoke({ kind: 'user', subject: user.id, version: user.tokenVersion, expiresAt: Math.ceil(now + resolved.userRevocationRetentionSeconds) })
  }

  return {
    passwordHasher: resolved.passwordHasher,
    userRevocationRetentionSeconds: resolved.userRevocationRetentionSeconds,

    async migrate () {},

    async createUser (input: NewUser) {
      const user = await prepareUser(input, resolved, nowSeconds())
      if (idByUsername.has(user.username)) throw new UsernameTakenError()
      users.set(user.id, user)
      idByUsername.set(user.username, user.id)
      return copyUser(user)
    },

    async findUserById (id) {
      const user = users.get(id)
      return user === undefined ? undefined : copyUser(user)
    },

    async findUserByUsername (username) {
      const normalised = tryNormaliseUsername(username)
      const id = normalised === undefined ? undefined : idByUsername.get(normalised)
      return id === undefined ? undefined : copyUser(users.get(id) as UserRecord)
    },

    async replacePasswordHash (id, previousHash, newHash) {
      const user = users.get(id)
      if (user?.passwordHash === previousHash) user.passwordHash = newHash
    },

    async changePassword (id, newPassword) {
      existingUser(id)
      const passwordHash = await hashNewPassword(newPassword, resolved)
      const user = existingUser(id)
      user.passwordHash = passwordHash
      bumpTokenVersion(user)
      return copyUser(user)
    },

    async setDisabled (id, disabled) {
      const user = existingUser(id)
      if (user.disabled === disabled) return
      user.disabled = disabled
      if (disabled) bumpTokenVersion(user)
    },

    async revokeUserTokens (id) {
      bumpTokenVersion(existingUser(id))
    },

    async deleteUser (id) {
      const user = existingUser(id)
      bumpTokenVersion(user)
      users.delete(id)
      idByUsername.delete(user.username)
      for (const [hash, token] of refreshTokens) if (token.userId === id) refreshTokens.delete(hash)
    },

    async insertRefreshToken (token: RefreshTokenRow) {
      refreshTokens.set(token.tokenHash, { ...token, usedAt: null, revokedAt: null })
    },

    async findRefreshToken (tokenHash) {
      const token = refreshTokens.get(tokenHash)
      return token === undefined ? undefined : { ...token }
    },

    async spendRefreshToken (tokenHash, now, successor): Promise<SpendResult> {
      const token = refreshTokens.get(tokenHash)
      if (token === undefined || token.usedAt !== null || token.revokedAt !== null || token.expiresAt <= now) {
        return { spent: false, token: token === undefined ? undefined : { ...token } }
      }
      token.usedAt = now
      const next = successor({ ...token })
      refreshTokens.set(next.tokenHash, { ...next, usedAt: null, revokedAt: null })
      return { spent: true, token: { ...token } }
    },

    async revokeSession (familyId, now, accessTokensExpireBy) {
      for (const token of refreshTokens.values()) {
        if (token.familyId === familyId && token.revokedAt === null) token.revokedAt = now
      }
      revoke({ kind: 'session', subject: familyId, version: 0, expiresAt: Math.ceil(accessTokensExpireBy) })
    },

    async addRevocation (revocation) {
      revoke(revocation)
    },

    onRevocation: (listener) => listeners.add(listener),

    async listRevocations ({ afterId, beforeId = Number.POSITIVE_INFINITY, limit = Number.POSITIVE_INFINITY }) {
      return revocations.filter((row) => row.id > afterId && row.id < beforeId).slice(0, limit).map((row) => ({ ...row }))
    },

    async loginFailures (keys) {
      return keys.flatMap((key) => {
        const count = failures.get(key)
        return count === undefined ? [] : [{ ...count }]
      })
    },

    async recordLoginFailure (keys, now, windowSeconds) {
      for (const key of keys) {
        const count = failures.get(key)
        if (count === undefined || count.windowStartedAt <= now - windowSeconds) {
          failures.set(key, { key, failures: 1, windowStartedAt: now, lastFailureAt: now })
        } else {
          count.failures++
          count.lastFailureAt = now
        }
      }
    },

    async clearLoginFailures (key) {
      failures.delete(key)
    },

    async pruneExpired (now, failuresBefore): Promise<PruneResult> {
      const result = { refreshTokens: 0, revocations: 0, loginFailures: 0 }
      for (const [hash, token] of refreshTokens) {
        if (token.expiresAt <= now) {
          refreshTokens.delete(hash)
          result.refreshTokens++
        }
      }
      for (let i = revocations.length - 1; i >= 0; i--) {
        if (revocations[i].expiresAt <= now) {
          revocations.splice(i, 1)
          result.revocations++
        }
      }
      for (const [key, count] of failures) {
        if (count.lastFailureAt < failuresBefore) {
          failures.delete(key)
          result.loginFailures++
        }
      }
      return result
    }
  }
}
