import type { RecoveryCodePort, UserRecord } from './ports.js'

interface StoredCode { hash: string, usedAt: number | null }

/** The recovery-code port of the memory store, and what `users.delete` needs from it. */
export function memoryRecoveryCodes (users: ReadonlyMap<string, UserRecord>): { port: RecoveryCodePort, deleteAllOf: (userId: string) => void } {
  const codesByUser = new Map<string, StoredCode[]>()

  const port: RecoveryCodePort = {
    async replace (userId, hashes) {
      // A user who is gone keeps no codes (the knex store writes none either).
      if (users.has(userId)) codesByUser.set(userId, hashes.map((hash) => ({ hash, usedAt: null })))
    },
    async use (userId, hash, now) {
      const code = codesByUser.get(userId)?.find((held) => held.hash === hash && held.usedAt === null)
      if (code === undefined) return false
      code.usedAt = now
      return true
    },
    async countUnused (userId) {
      return (codesByUser.get(userId) ?? []).filter((code) => code.usedAt === null).length
    },
    async removeAll (userId) {
      const count = codesByUser.get(userId)?.length ?? 0
      codesByUser.delete(userId)
      return count
    }
  }

  return { port, deleteAllOf: (userId) => { codesByUser.delete(userId) } }
}
