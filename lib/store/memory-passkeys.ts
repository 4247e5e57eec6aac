import { byCreation } from './api-key-order.js'
import type { PasskeyPort, PasskeyRecord, UserRecord } from './ports.js'

const copyPasskey = (passkey: PasskeyRecord): PasskeyRecord => ({ ...passkey, transports: [...passkey.transports] })

/** The passkey port of the memory store, and what `users.delete` needs from it. */
export function memoryPasskeys (users: ReadonlyMap<string, UserRecord>, copyUser: (user: UserRecord) => UserRecord): { port: PasskeyPort, deleteAllOf: (userId: string) => void } {
  const passkeys = new Map<string, PasskeyRecord>()

  const passkeysOf = (userId: string): PasskeyRecord[] => [...passkeys.values()].filter((passkey) => passkey.userId === userId)
  const passkeyOf = (userId: string, id: string): PasskeyRecord | undefined => {
    const passkey = passkeys.get(id)
    return passkey?.userId === userId ? passkey : undefined
  }

  const port: PasskeyPort = {
    async insert (passkey, maxPerUser) {
      const user = users.get(passkey.userId)
      if (user === undefined || user.disabled || passkeys.has(passkey.id)) return false
      if (passkeysOf(passkey.userId).length >= maxPerUser) return false
      passkeys.set(passkey.id, copyPasskey(passkey))
      return true
    },
    async findById (id) {
      const passkey = passkeys.get(id)
      const user = passkey === undefined ? undefined : users.get(passkey.userId)
      return passkey === undefined || user === undefined ? undefined : { passkey: copyPasskey(passkey), user: copyUser(user) }
    },
    async listByUser (userId) {
      return passkeysOf(userId).sort(byCreation).map(copyPasskey)
    },
    async rename (userId, id, name) {
      const passkey = passkeyOf(userId, id)
      if (passkey === undefined) return false
      passkey.name = name
      return true
    },
    async remove (userId, id) {
      return passkeyOf(userId, id) !== undefined && passkeys.delete(id)
    },
    async recordUse (id, { previousCounter, counter, backedUp, now }) {
      const passkey = passkeys.get(id)
      if (passkey === undefined || passkey.counter !== previousCounter) return false
      Object.assign(passkey, { counter, backedUp, lastUsedAt: now })
      return true
    }
  }

  return { port, deleteAllOf: (userId) => { for (const passkey of passkeysOf(userId)) passkeys.delete(passkey.id) } }
}
