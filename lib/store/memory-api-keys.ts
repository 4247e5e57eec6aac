import { byCreation } from './api-key-order.js'
import type { ApiKeyPort, ApiKeyRecord, Revocation, UserRecord } from './ports.js'

const copyKey = (key: ApiKeyRecord): ApiKeyRecord => ({ ...key, scopes: [...key.scopes] })

/** What the memory store's API keys share with the rest of it. */
export interface MemoryApiKeyState {
  users: ReadonlyMap<string, UserRecord>
  copyUser: (user: UserRecord) => UserRecord
  append: (revocation: Revocation, now: number) => void
}

/**
 * The API-key port of the memory store, with the two things `users` needs from it:
 * revoking every key of a user being disabled, deleting every key of a user deleted.
 */
export function memoryApiKeys ({ users, copyUser, append }: MemoryApiKeyState): { port: ApiKeyPort, revokeAllOf: (userId: string, now: number) => void, deleteAllOf: (userId: string) => void } {
  const keys = new Map<string, ApiKeyRecord>()
  const idByHash = new Map<string, string>()

  const keysOf = (userId: string): ApiKeyRecord[] => [...keys.values()].filter((key) => key.userId === userId)
  const liveKeyOf = (userId: string, id: string): ApiKeyRecord | undefined => {
    const key = keys.get(id)
    return key !== undefined && key.userId === userId && key.revokedAt === null ? key : undefined
  }
  const forget = (key: ApiKeyRecord): void => {
    keys.delete(key.id)
    idByHash.delete(key.hash)
  }

  const revokeAllOf = (userId: string, now: number): ApiKeyRecord[] => {
    const revoked = keysOf(userId).filter((key) => key.revokedAt === null)
    for (const key of revoked) key.revokedAt = now
    return revoked
  }

  const port: ApiKeyPort = {
    async insert (key, maxPerUser) {
      const user = users.get(key.userId)
      if (user === undefined || user.disabled) return false
      if (keysOf(key.userId).filter((held) => held.revokedAt === null).length >= maxPerUser) return false
      keys.set(key.id, copyKey(key))
      idByHash.set(key.hash, key.id)
      return true
    },
    async findByHash (hash) {
      const id = idByHash.get(hash)
      const key = id === undefined ? undefined : keys.get(id)
      const user = key === undefined ? undefined : users.get(key.userId)
      return key === undefined || user === undefined ? undefined : { key: copyKey(key), user: copyUser(user) }
    },
    async listByUser (userId) {
      return keysOf(userId)
        .filter((key) => key.revokedAt === null)
        .sort(byCreation)
        .map(copyKey)
    },
    async rename (userId, id, name) {
      const key = liveKeyOf(userId, id)
      if (key === undefined) return false
      key.name = name
      return true
    },
    async revoke (userId, id, now, revocationExpiresAt) {
      const key = liveKeyOf(userId, id)
      if (key === undefined) return false
      key.revokedAt = now
      append({ kind: 'token', subject: id, version: 0, expiresAt: revocationExpiresAt }, now)
      return true
    },
    async revokeAllByUser (userId, now, revocationExpiresAt) {
      const revoked = revokeAllOf(userId, now)
      for (const key of revoked) append({ kind: 'token', subject: key.id, version: 0, expiresAt: revocationExpiresAt }, now)
      return revoked.map((key) => key.id)
    },
    async recordUse (uses) {
      for (const { id, lastUsedAt } of uses) {
        const key = keys.get(id)
        if (key !== undefined && (key.lastUsedAt === null || key.lastUsedAt < lastUsedAt)) key.lastUsedAt = lastUsedAt
      }
    },
    async prune (now) {
      let deleted = 0
      for (const key of [...keys.values()]) {
        if ((key.revokedAt !== null && key.revokedAt <= now) || (key.expiresAt !== null && key.expiresAt <= now)) { forget(key); deleted++ }
      }
      return deleted
    }
  }

  return {
    port,
    revokeAllOf: (userId, now) => { revokeAllOf(userId, now) },
    deleteAllOf: (userId) => { for (const key of keysOf(userId)) forget(key) }
  }
}
