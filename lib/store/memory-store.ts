import { EmailTakenError, UsernameTakenError } from '../errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../options/known-keys.js'
import { memoryApiKeys } from './memory-api-keys.js'
import { memoryChallenges } from './memory-challenges.js'
import { memoryPasskeys } from './memory-passkeys.js'
import { memoryRecoveryCodes } from './memory-recovery-codes.js'
import { memoryTotp } from './memory-totp.js'
import type {
  AccountToken, AttemptCounter, AuthStore, FoundRefreshToken, IssuedRefreshToken, NewRefreshFamily, RefreshFamily,
  Revocation, StoredRevocation, UserRecord, UserUpdate
} from './ports.js'

export interface MemoryStoreOptions {
  /** Application fields of a user, kept in `UserRecord.profile`. Default none. */
  profileFields?: readonly string[] | undefined
}

const MEMORY_STORE_OPTIONS: KnownKeys<MemoryStoreOptions> = { profileFields: true }
const MEMORY_STORE_OPTION_NAMES = optionNames(MEMORY_STORE_OPTIONS)

const copyUser = (user: UserRecord): UserRecord => ({ ...user, roles: [...user.roles], profile: { ...user.profile } })
const copyFamily = (family: RefreshFamily): RefreshFamily => ({ ...family, authMethods: [...family.authMethods] })

/**
 * An AuthStore in this process's memory: for tests, prototypes and single-instance apps.
 * Nothing survives a restart and nothing is shared between processes (use the knex
 * store for that). Every method is atomic because none awaits midway.
 */
export function createMemoryStore (options: MemoryStoreOptions = {}): AuthStore {
  refuseUnknownKeys(options, MEMORY_STORE_OPTION_NAMES, { owner: 'createMemoryStore' })
  const users = new Map<string, UserRecord>()
  const idByUsername = new Map<string, string>()
  const idByEmail = new Map<string, string>()
  const accountTokens = new Map<string, AccountToken>()
  const families = new Map<string, RefreshFamily>()
  // Every token ever issued and not yet expired, by hash: spent ones too, for reuse detection.
  const tokens = new Map<string, IssuedRefreshToken & { familyId: string }>()
  const revocations = new Map<number, StoredRevocation>()
  const counters = new Map<string, AttemptCounter>()
  let lastRevocationId = 0
  const apiKeys = memoryApiKeys({ users, copyUser, append })
  const totp = memoryTotp(users)
  const recoveryCodes = memoryRecoveryCodes(users)
  const passkeys = memoryPasskeys(users, copyUser)
  const challenges = memoryChallenges()

  function append (revocation: Revocation, now: number): void {
    const id = ++lastRevocationId
    revocations.set(id, { ...revocation, id, createdAt: Math.floor(now) })
  }

  function revokeFamiliesOf (userId: string, now: number): void {
    for (const family of families.values()) {
      if (family.userId === userId && family.revokedAt === null) family.revokedAt = now
    }
  }

  function matches (user: UserRecord, expect: UserUpdate['expect']): boolean {
    if (expect?.passwordHash !== undefined && user.passwordHash !== expect.passwordHash) return false
    if (expect?.disabled !== undefined && user.disabled !== expect.disabled) return false
    if (expect?.email !== undefined && user.email !== expect.email) return false
    if (expect?.roles !== undefined && JSON.stringify(user.roles) !== JSON.stringify(expect.roles)) return false
    return true
  }

  function emailTakenByAnother (email: string | null | undefined, userId: string): boolean {
    if (email === undefined || email === null) return false
    const holder = idByEmail.get(email)
    return holder !== undefined && holder !== userId
  }

  function deleteAccountTokensOf (userId: string, purpose?: AccountToken['purpose']): number {
    let deleted = 0
    for (const [hash, token] of accountTokens) {
      if (token.userId === userId && (purpose === undefined || token.purpose === purpose)) { accountTokens.delete(hash); deleted++ }
    }
    return deleted
  }

  function liveAccountToken (hash: string, purpose: AccountToken['purpose'], now: number): AccountToken | undefined {
    const token = accountTokens.get(hash)
    return token !== undefined && token.purpose === purpose && token.expiresAt > now ? token : undefined
  }

  return {
    profileFields: Object.freeze([...(options.profileFields ?? [])]),
    async migrate () {},

    users: {
      async insert (user) {
        if (idByUsername.has(user.username)) throw new UsernameTakenError()
        if (emailTakenByAnother(user.email, user.id)) throw new EmailTakenError()
        users.set(user.id, copyUser(user))
        idByUsername.set(user.username, user.id)
        if (user.email !== null) idByEmail.set(user.email, user.id)
      },
      async findById (id) {
        const user = users.get(id)
        return user === undefined ? undefined : copyUser(user)
      },
      async findByUsername (username) {
        const id = idByUsername.get(username)
        return id === undefined ? undefined : copyUser(users.get(id) as UserRecord)
      },
      async findByEmail (email) {
        const id = idByEmail.get(email)
        return id === undefined ? undefined : copyUser(users.get(id) as UserRecord)
      },
      async list ({ after, limit, search }) {
        return [...users.values()]
          // Compared as the sort compares (UTF-8 bytes), not by UTF-16 units: beyond U+FFFF they disagree.
          .filter((user) => (after === undefined || Buffer.compare(Buffer.from(user.username), Buffer.from(after)) > 0) &&
            (search === undefined || user.username.includes(search) || (user.email?.includes(search) ?? false)))
          // Byte order of the UTF-8 encoding, as the databases compare the column.
          .sort((a, b) => Buffer.compare(Buffer.from(a.username), Buffer.from(b.username)))
          .slice(0, limit)
          .map(copyUser)
      },
      async update (id, { set, expect, revokeTokens }) {
        const user = users.get(id)
        if (user === undefined || !matches(user, expect)) return undefined
        if (emailTakenByAnother(set.email, id)) throw new EmailTakenError()
        const { profile, roles, ...fields } = set
        if (set.email !== undefined && user.email !== null) idByEmail.delete(user.email)
        Object.assign(user, fields)
        if (user.email !== null) idByEmail.set(user.email, id)
        if (roles !== undefined) user.roles = [...roles]
        if (profile !== undefined) user.profile = { ...user.profile, ...profile }
        if (revokeTokens !== undefined) {
          if (set.disabled === true) apiKeys.revokeAllOf(id, revokeTokens.now)
          user.tokenVersion++
          revokeFamiliesOf(id, revokeTokens.now)
          append({ kind: 'user', subject: id, version: user.tokenVersion, expiresAt: revokeTokens.expiresAt }, revokeTokens.now)
        }
        return copyUser(user)
      },
      async delete (id, { now, expiresAt }) {
        const user = users.get(id)
        if (user === undefined) return false
        users.delete(id)
        idByUsername.delete(user.username)
        if (user.email !== null) idByEmail.delete(user.email)
        deleteAccountTokensOf(id)
        apiKeys.deleteAllOf(id)
        for (const port of [totp, recoveryCodes, passkeys, challenges]) port.deleteAllOf(id)
        for (const [familyId, family] of families) if (family.userId === id) families.delete(familyId)
        append({ kind: 'user', subject: id, version: user.tokenVersion + 1, expiresAt }, now)
        return true
      }
    },

    families: {
      async create (family: NewRefreshFamily, token: IssuedRefreshToken) {
        families.set(family.id, { ...family, authMethods: [...family.authMethods], currentTokenHash: token.hash, previousTokenHash: null, rotatedAt: null, revokedAt: null })
        tokens.set(token.hash, { ...token, familyId: family.id })
      },
      async findByToken (tokenHash): Promise<FoundRefreshToken | undefined> {
        const token = tokens.get(tokenHash)
        const family = token === undefined ? undefined : families.get(token.familyId)
        if (token === undefined || family === undefined) return undefined
        return { family: copyFamily(family), token: { hash: token.hash, expiresAt: token.expiresAt } }
      },
      async rotate (familyId, spentHash, successor, now, client) {
        const family = families.get(familyId)
        if (family === undefined || family.revokedAt !== null || family.expiresAt <= now || family.currentTokenHash !== spentHash) return false
        family.previousTokenHash = spentHash
        family.currentTokenHash = successor.hash
        family.rotatedAt = now
        if (client !== undefined) Object.assign(family, { clientAddress: client.clientAddress, userAgent: client.userAgent })
        tokens.set(successor.hash, { ...successor, familyId })
        return true
      },
      async revoke (familyId, now, accessTokensExpireBy) {
        const family = families.get(familyId)
        if (family === undefined || family.revokedAt !== null) return false
        family.revokedAt = now
        append({ kind: 'session', subject: familyId, version: 0, expiresAt: accessTokensExpireBy }, now)
        return true
      },
      async listByUser (userId, now) {
        return [...families.values()]
          .filter((family) => family.userId === userId && family.revokedAt === null && family.expiresAt > now)
          .map(copyFamily)
      },
      async prune (now) {
        let deleted = 0
        for (const [hash, token] of tokens) {
          if (token.expiresAt <= now) { tokens.delete(hash); deleted++ }
        }
        for (const [id, family] of families) {
          if (family.expiresAt <= now) { families.delete(id); deleted++ }
        }
        return deleted
      }
    },

    revocations: {
      async append (revocation, now) {
        append(revocation, now)
      },
      async list ({ afterId, beforeId = Number.POSITIVE_INFINITY, limit = Number.POSITIVE_INFINITY }) {
        const found: StoredRevocation[] = []
        // Ids are consecutive from 1 and a pruned one is simply missing: looking ids up from
        // afterId makes a poll cost what it reads, not every revocation kept. A Map iterates
        // in insertion order, so its first key is the oldest id left.
        const oldest = revocations.keys().next().value ?? lastRevocationId + 1
        const end = Math.min(beforeId, lastRevocationId + 1)
        for (let id = Math.max(Math.floor(afterId) + 1, oldest); id < end && found.length < limit; id++) {
          const revocation = revocations.get(id)
          if (revocation !== undefined) found.push({ ...revocation })
        }
        return found
      },
      async prune (now) {
        let deleted = 0
        for (const [id, revocation] of revocations) {
          if (revocation.expiresAt <= now) { revocations.delete(id); deleted++ }
        }
        return deleted
      }
    },

    accountTokens: {
      async insert (token) {
        accountTokens.set(token.hash, { ...token })
      },
      async find (hash, purpose, now) {
        const token = liveAccountToken(hash, purpose, now)
        return token === undefined ? undefined : { ...token }
      },
      async consume (hash, purpose, now) {
        const token = liveAccountToken(hash, purpose, now)
        if (token !== undefined) accountTokens.delete(hash)
        return token
      },
      async deleteByUser (userId, purpose) {
        return deleteAccountTokensOf(userId, purpose)
      },
      async prune (now) {
        let deleted = 0
        for (const [hash, token] of accountTokens) {
          if (token.expiresAt <= now) { accountTokens.delete(hash); deleted++ }
        }
        return deleted
      }
    },

    apiKeys: apiKeys.port,
    totp: totp.port,
    recoveryCodes: recoveryCodes.port,
    passkeys: passkeys.port,
    challenges: challenges.port,

    attempts: {
      async update (keys, decide) {
        const current = new Map<string, AttemptCounter>()
        for (const key of keys) {
          const counter = counters.get(key)
          if (counter !== undefined) current.set(key, { ...counter })
        }
        const { write, remove = [], result } = decide(current)
        for (const counter of write) counters.set(counter.key, { ...counter })
        for (const key of remove) counters.delete(key)
        return result
      },
      async prune (idleBefore) {
        let deleted = 0
        for (const [key, counter] of counters) {
          if (counter.lastAttemptAt < idleBefore) { counters.delete(key); deleted++ }
        }
        return deleted
      }
    }
  }
}
