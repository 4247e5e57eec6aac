import type { TotpFactor, TotpPort, UserRecord } from './ports.js'

/** The TOTP port of the memory store, and what `users.delete` needs from it. */
export function memoryTotp (users: ReadonlyMap<string, UserRecord>): { port: TotpPort, deleteAllOf: (userId: string) => void } {
  const factors = new Map<string, TotpFactor>()

  const port: TotpPort = {
    async stage (factor) {
      const held = factors.get(factor.userId)
      if (!users.has(factor.userId) || (held !== undefined && held.confirmedAt !== null)) return false
      factors.set(factor.userId, { ...factor, confirmedAt: null })
      return true
    },
    async find (userId) {
      const factor = factors.get(userId)
      return factor === undefined ? undefined : { ...factor }
    },
    async confirm (userId, encryptedSecret, step, now) {
      const factor = factors.get(userId)
      if (factor === undefined || factor.confirmedAt !== null || factor.encryptedSecret !== encryptedSecret) return false
      factor.confirmedAt = now
      factor.lastUsedStep = step
      return true
    },
    async useStep (userId, encryptedSecret, step) {
      const factor = factors.get(userId)
      if (factor === undefined || factor.confirmedAt === null || factor.encryptedSecret !== encryptedSecret || factor.lastUsedStep >= step) return false
      factor.lastUsedStep = step
      return true
    },
    async remove (userId) {
      return factors.delete(userId)
    }
  }

  return { port, deleteAllOf: (userId) => { factors.delete(userId) } }
}
