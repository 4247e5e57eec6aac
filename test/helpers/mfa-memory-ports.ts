import type { AuthStore, Challenge, PasskeyRecord, TotpFactor } from 'fastify-token-auth'

// The second-factor ports in memory, for a memory store that has none of its own yet.
// Each method is atomic because none awaits midway.

type MfaPorts = Pick<AuthStore, 'totp' | 'recoveryCodes' | 'passkeys' | 'challenges'>

export function withMfaPorts (store: AuthStore): AuthStore {
  if (typeof (store as Partial<AuthStore>).totp === 'object') return store
  const totp = new Map<string, TotpFactor>()
  const codes = new Map<string, Array<{ hash: string, usedAt: number | null }>>()
  const passkeys = new Map<string, PasskeyRecord>()
  const challenges = new Map<string, Challenge>()
  const ports: MfaPorts = {
    totp: {
      async stage (factor) {
        const user = await store.users.findById(factor.userId)
        if (user === undefined || totp.get(factor.userId)?.confirmedAt != null) return false
        totp.set(factor.userId, { ...factor })
        return true
      },
      async find (userId) {
        const factor = totp.get(userId)
        return factor === undefined ? undefined : { ...factor }
      },
      async confirm (userId, encryptedSecret, step, now) {
        const factor = totp.get(userId)
        if (factor === undefined || factor.confirmedAt !== null || factor.encryptedSecret !== encryptedSecret) return false
        totp.set(userId, { ...factor, confirmedAt: now, lastUsedStep: step })
        return true
      },
      async useStep (userId, encryptedSecret, step) {
        const factor = totp.get(userId)
        if (factor?.confirmedAt == null || factor.encryptedSecret !== encryptedSecret || factor.lastUsedStep >= step) return false
        factor.lastUsedStep = step
        return true
      },
      async remove (userId) { return totp.delete(userId) }
    },
    recoveryCodes: {
      async replace (userId, hashes) { codes.set(userId, hashes.map((hash) => ({ hash, usedAt: null }))) },
      async use (userId, hash, now) {
        const code = codes.get(userId)?.find((entry) => entry.hash === hash && entry.usedAt === null)
        if (code === undefined) return false
        code.usedAt = now
        return true
      },
      async countUnused (userId) { return (codes.get(userId) ?? []).filter((entry) => entry.usedAt === null).length },
      async removeAll (userId) {
        const count = codes.get(userId)?.length ?? 0
        codes.delete(userId)
        return count
      }
    },
    passkeys: {
      async insert (passkey, maxPerUser) {
        const user = await store.users.findById(passkey.userId)
        const held = [...passkeys.values()].filter((entry) => entry.userId === passkey.userId).length
        if (user === undefined || user.disabled || held >= maxPerUser || passkeys.has(passkey.id)) return false
        passkeys.set(passkey.id, { ...passkey, transports: [...passkey.transports] })
        return true
      },
      async findById (id) {
        const passkey = passkeys.get(id)
        const user = passkey === undefined ? undefined : await store.users.findById(passkey.userId)
        return passkey === undefined || user === undefined ? undefined : { passkey: { ...passkey }, user }
      },
      async listByUser (userId) {
        return [...passkeys.values()].filter((entry) => entry.userId === userId)
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map((entry) => ({ ...entry }))
      },
      async rename (userId, id, name) {
        const passkey = passkeys.get(id)
        if (passkey?.userId !== userId) return false
        passkey.name = name
        return true
      },
      async remove (userId, id) {
        if (passkeys.get(id)?.userId !== userId) return false
        return passkeys.delete(id)
      },
      async recordUse (id, use) {
        const passkey = passkeys.get(id)
        if (passkey === undefined || passkey.counter !== use.previousCounter) return false
        Object.assign(passkey, { counter: use.counter, backedUp: use.backedUp, lastUsedAt: use.now })
        return true
      }
    },
    challenges: {
      async insert (challenge) { challenges.set(challenge.hash, { ...challenge }) },
      async find (hash, purpose, now) {
        const challenge = challenges.get(hash)
        return challenge === undefined || challenge.purpose !== purpose || challenge.expiresAt <= now ? undefined : { ...challenge }
      },
      async consume (hash, purpose, now) {
        const challenge = challenges.get(hash)
        if (challenge === undefined || challenge.purpose !== purpose || challenge.expiresAt <= now) return undefined
        challenges.delete(hash)
        return challenge
      },
      async prune (now) {
        let deleted = 0
        for (const [hash, challenge] of challenges) if (challenge.expiresAt <= now) { challenges.delete(hash); deleted++ }
        return deleted
      }
    }
  }
  return Object.assign(store, ports)
}
