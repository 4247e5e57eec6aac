import assert from 'node:assert/strict'
import type { ApiKeyRecord, AuthStore, StoredRevocation, UserRecord } from '../ports.js'
import { concurrently, newApiKey, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

/** A limit no case reaches unless it means to. */
const MANY = 1000
const REVOCATION_END = NOW + 905

/** A user in the store, with a key inserted for each of `keys`. */
async function userWithKeys (store: AuthStore, ...keys: Array<Partial<ApiKeyRecord>>): Promise<{ user: UserRecord, keys: ApiKeyRecord[] }> {
  const user = newUser()
  await store.users.insert(user)
  const inserted = keys.map((overrides) => newApiKey(user.id, overrides))
  for (const key of inserted) assert.equal(await store.apiKeys.insert(key, MANY), true)
  return { user, keys: inserted }
}

/** The `token` revocations stored with this subject, without their ids. */
async function tokenRevocationsOf (store: AuthStore, subject: string): Promise<Array<Omit<StoredRevocation, 'id'>>> {
  return (await store.revocations.list({ afterId: 0 }))
    .filter((revocation) => revocation.kind === 'token' && revocation.subject === subject)
    .map(({ id, ...revocation }) => revocation)
}

async function revokedAtOf (store: AuthStore, key: ApiKeyRecord): Promise<number | null | undefined> {
  return (await store.apiKeys.findByHash(key.hash))?.key.revokedAt
}

const ids = (keys: readonly ApiKeyRecord[]): string[] => keys.map((key) => key.id)

export const apiKeyCases: StoreContractCase[] = [
  {
    name: 'apiKeys: a key is found by its hash with its user as they are now, revoked and expired keys too, and the results are copies',
    async run (open) {
      const store = await open()
      const user = newUser({ roles: ['admin', 'ops'], email: `${newUser().username}@example.com` })
      await store.users.insert(user)
      // The longest name (100 characters, one outside the BMP), the most scopes, no expiry.
      const key = newApiKey(user.id, { name: `Déploiement 🚀 ${'x'.repeat(86)}`, scopes: Array.from({ length: 64 }, (_, index) => `scope:${index}`), expiresAt: null, createdBySession: null })
      const kept = structuredClone(key)
      assert.equal(await store.apiKeys.insert(key, MANY), true)
      key.scopes.push('added later')
      key.name = 'renamed later'
      assert.deepEqual(await store.apiKeys.findByHash(kept.hash), { key: kept, user }, 'the inserted record was copied')
      const found = await store.apiKeys.findByHash(kept.hash)
      assert.ok(found !== undefined)
      found.key.scopes.push('admin:all')
      found.key.revokedAt = NOW
      found.user.roles.push('root')
      found.user.disabled = true
      assert.deepEqual(await store.apiKeys.findByHash(kept.hash), { key: kept, user }, 'results are copies')

      const updated = await store.users.update(user.id, { set: { roles: ['viewer'] } })
      assert.deepEqual((await store.apiKeys.findByHash(kept.hash))?.user, updated, 'the user as they are now')
      const { keys: [expired, revoked] } = await userWithKeys(store, { expiresAt: NOW - 1 }, { createdBySession: null })
      assert.equal(await store.apiKeys.revoke(revoked.userId, revoked.id, NOW, REVOCATION_END), true)
      assert.deepEqual((await store.apiKeys.findByHash(expired.hash))?.key, expired)
      assert.deepEqual((await store.apiKeys.findByHash(revoked.hash))?.key, { ...revoked, revokedAt: NOW })
      for (const unknown of [newApiKey(user.id).hash, '', 'a'.repeat(1000)]) assert.equal(await store.apiKeys.findByHash(unknown), undefined)
    }
  },
  {
    name: 'apiKeys: insert refuses a key for a missing or disabled user and one past maxPerUser unrevoked keys (expired ones count), writing nothing',
    async run (open) {
      const store = await open()
      const missing = newApiKey(newUser().id)
      assert.equal(await store.apiKeys.insert(missing, MANY), false, 'no such user')
      assert.equal(await store.apiKeys.findByHash(missing.hash), undefined)
      const disabled = newUser({ disabled: true })
      await store.users.insert(disabled)
      const refused = newApiKey(disabled.id)
      assert.equal(await store.apiKeys.insert(refused, MANY), false, 'a disabled user')
      assert.equal(await store.apiKeys.findByHash(refused.hash), undefined)
      await store.users.update(disabled.id, { set: { disabled: false } })
      assert.equal(await store.apiKeys.insert(refused, MANY), true, 'enabled again')

      const { user, keys: [first, expired] } = await userWithKeys(store, {}, { expiresAt: NOW - 1 })
      const third = newApiKey(user.id)
      assert.equal(await store.apiKeys.insert(third, 2), false, 'the expired key counts until it is pruned')
      assert.equal(await store.apiKeys.insert(third, 0), false)
      assert.equal(await store.apiKeys.findByHash(third.hash), undefined)
      assert.equal(await store.apiKeys.revoke(user.id, first.id, NOW, REVOCATION_END), true)
      assert.equal(await store.apiKeys.insert(third, 2), true, 'a revoked key does not count')
      assert.deepEqual(ids(await store.apiKeys.listByUser(user.id)), ids([expired, third]).sort())
    }
  },
  {
    name: 'apiKeys: of 200 concurrent inserts for one user on two connections with maxPerUser 5, exactly 5 succeed',
    async run (open) {
      const stores = await twoConnections(open)
      const { user, keys: [held] } = await userWithKeys(stores[0], {})
      const keys = Array.from({ length: 200 }, () => newApiKey(user.id))
      const { values, errors } = await concurrently(200, async (index) => await stores[index % 2].apiKeys.insert(keys[index], 5))
      assert.deepEqual(errors, [])
      assert.equal(values.filter(Boolean).length, 4, 'the held key is one of the 5')
      const inserted = keys.filter((_, index) => values[index])
      assert.deepEqual(ids(await stores[1].apiKeys.listByUser(user.id)).sort(), ids([held, ...inserted]).sort())
    }
  },
  {
    name: 'apiKeys: disabling a user with revokeTokens revokes their unrevoked keys in the same step, and only theirs; other updates leave keys alone',
    async run (open) {
      const store = await open()
      const { user, keys: [live, revoked] } = await userWithKeys(store, {}, {})
      const { user: bystander, keys: [other] } = await userWithKeys(store, {})
      assert.equal(await store.apiKeys.revoke(user.id, revoked.id, NOW + 1, REVOCATION_END), true)
      await store.users.update(user.id, { set: { roles: ['viewer'] }, revokeTokens: { now: NOW + 2, expiresAt: REVOCATION_END } })
      assert.deepEqual(ids(await store.apiKeys.listByUser(user.id)), [live.id], 'a user-wide revocation that is no disable keeps keys')
      assert.equal(await store.users.update(user.id, { set: { disabled: true }, expect: { passwordHash: 'another' }, revokeTokens: { now: NOW + 3, expiresAt: REVOCATION_END } }), undefined)
      assert.equal(await revokedAtOf(store, live), null, 'a disable that did not apply revoked nothing')
      assert.equal((await store.users.update(user.id, { set: { disabled: true }, revokeTokens: { now: NOW + 4, expiresAt: REVOCATION_END } }))?.disabled, true)
      assert.deepEqual(await store.apiKeys.listByUser(user.id), [])
      assert.equal(await revokedAtOf(store, live), NOW + 4)
      assert.equal(await revokedAtOf(store, revoked), NOW + 1, 'a revoked key keeps its time')
      assert.deepEqual(ids(await store.apiKeys.listByUser(bystander.id)), [other.id])
    }
  },
  {
    name: 'apiKeys: a disable racing inserts on two connections leaves no unrevoked key: each is revoked with the user or refused (10 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      for (let trial = 0; trial < 10; trial++) {
        const { user, keys: [held] } = await userWithKeys(stores[0], {})
        const keys = Array.from({ length: 30 }, () => newApiKey(user.id))
        const disableAt = 15
        const { values, errors } = await concurrently(keys.length + 1, async (index) => index === disableAt
          ? await stores[1].users.update(user.id, { set: { disabled: true }, revokeTokens: { now: NOW + 1, expiresAt: REVOCATION_END } })
          : await stores[index % 2].apiKeys.insert(keys[index > disableAt ? index - 1 : index], MANY))
        assert.deepEqual(errors, [])
        assert.equal((values[disableAt] as UserRecord).disabled, true)
        assert.deepEqual(await stores[0].apiKeys.listByUser(user.id), [], 'no key left unrevoked')
        const inserted = values.filter((_, index) => index !== disableAt) as boolean[]
        for (const [index, key] of keys.entries()) {
          assert.equal(await revokedAtOf(stores[1], key), inserted[index] ? NOW + 1 : undefined)
        }
        assert.equal(await revokedAtOf(stores[1], held), NOW + 1)
        assert.equal(await stores[0].apiKeys.insert(newApiKey(user.id), MANY), false)
      }
    }
  },
  {
    name: 'apiKeys: listByUser gives the user\'s unrevoked keys, expired ones too, by createdAt then id in byte order, as copies',
    async run (open) {
      const store = await open()
      // Byte order: '-' < digits < upper case < '_' < lower case.
      const order = ['k-1', 'k0', 'kA', 'kB', 'k_', 'ka', 'kb']
      const { user, keys } = await userWithKeys(store,
        { id: 'later', createdAt: NOW + 2 },
        ...[...order].reverse().map((id) => ({ id, createdAt: NOW + 1 })),
        { id: 'expired', createdAt: NOW + 3, expiresAt: NOW - 1 },
        { id: 'revoked', createdAt: NOW })
      await userWithKeys(store, { createdAt: NOW })
      assert.equal(await store.apiKeys.revoke(user.id, 'revoked', NOW, REVOCATION_END), true)
      const listed = await store.apiKeys.listByUser(user.id)
      assert.deepEqual(ids(listed), [...order, 'later', 'expired'])
      assert.deepEqual(listed.find((key) => key.id === 'expired'), keys.find((key) => key.id === 'expired'))
      listed[0].scopes.push('admin:all')
      listed[0].revokedAt = NOW
      assert.deepEqual((await store.apiKeys.listByUser(user.id))[0], keys.find((key) => key.id === order[0]), 'results are copies')
      assert.deepEqual(await store.apiKeys.listByUser(newUser().id), [])
    }
  },
  {
    name: 'apiKeys: rename renames only the owner\'s unrevoked key',
    async run (open) {
      const store = await open()
      const { user, keys: [key, revoked] } = await userWithKeys(store, {}, {})
      const { user: stranger, keys: [strangers] } = await userWithKeys(store, {})
      const name = `Clé 🔑 ${'n'.repeat(93)}`
      assert.equal(await store.apiKeys.rename(user.id, key.id, name), true)
      assert.deepEqual((await store.apiKeys.findByHash(key.hash))?.key, { ...key, name })
      assert.equal(await store.apiKeys.rename(user.id, key.id, name), true, 'to the name it has')
      assert.equal(await store.apiKeys.rename(stranger.id, key.id, 'mine now'), false, 'another user\'s key')
      assert.equal(await store.apiKeys.rename(user.id, strangers.id, 'mine now'), false)
      assert.equal(await store.apiKeys.rename(user.id, newApiKey(user.id).id, 'unknown'), false)
      assert.equal(await store.apiKeys.revoke(user.id, revoked.id, NOW, REVOCATION_END), true)
      assert.equal(await store.apiKeys.rename(user.id, revoked.id, 'revived'), false, 'a revoked key')
      assert.equal((await store.apiKeys.findByHash(revoked.hash))?.key.name, revoked.name)
      assert.equal((await store.apiKeys.findByHash(strangers.hash))?.key.name, strangers.name)
    }
  },
  {
    name: 'apiKeys: keys are found, renamed, revoked and recorded by their exact id and hash only: not in another case, not with a trailing space',
    async run (open) {
      const store = await open()
      // Two ids that differ only in case are two keys.
      const { user, keys: [lower, upper] } = await userWithKeys(store, { id: 'abcdefghijklmnop' }, { id: 'ABCDEFGHIJKLMNOP' })
      for (const hash of [lower.hash.toUpperCase(), `${lower.hash} `]) assert.equal(await store.apiKeys.findByHash(hash), undefined)
      assert.equal(await store.apiKeys.rename(user.id, `${lower.id} `, 'spaced'), false)
      assert.equal(await store.apiKeys.rename(user.id, upper.id, 'upper'), true)
      assert.equal(await store.apiKeys.revoke(user.id, `${lower.id} `, NOW, REVOCATION_END), false)
      assert.equal(await store.apiKeys.revoke(user.id, 'AbCdEfGhIjKlMnOp', NOW, REVOCATION_END), false)
      await store.apiKeys.recordUse([{ id: `${lower.id} `, lastUsedAt: NOW + 60 }, { id: 'Abcdefghijklmnop', lastUsedAt: NOW + 60 }])
      assert.deepEqual((await store.apiKeys.findByHash(lower.hash))?.key, lower)
      assert.equal(await store.apiKeys.revoke(user.id, upper.id, NOW, REVOCATION_END), true)
      assert.deepEqual((await store.apiKeys.findByHash(upper.hash))?.key, { ...upper, name: 'upper', revokedAt: NOW })
      assert.deepEqual(ids(await store.apiKeys.listByUser(user.id)), [lower.id])
      assert.deepEqual((await store.revocations.list({ afterId: 0 })).map((revocation) => revocation.subject), [upper.id])
    }
  },
  {
    name: 'apiKeys: a hash, id or user id holding a NUL matches nothing, without an error',
    async run (open) {
      const store = await open()
      const { user, keys: [key] } = await userWithKeys(store, {})
      const nul = (text: string): string => `${text.slice(0, 4)}\u0000${text.slice(4)}`
      assert.equal(await store.apiKeys.insert(newApiKey(nul(user.id)), MANY), false)
      assert.equal(await store.apiKeys.findByHash(nul(key.hash)), undefined)
      assert.deepEqual(await store.apiKeys.listByUser(nul(user.id)), [])
      assert.equal(await store.apiKeys.rename(user.id, nul(key.id), 'x'), false)
      assert.equal(await store.apiKeys.rename(nul(user.id), key.id, 'x'), false)
      assert.equal(await store.apiKeys.revoke(user.id, nul(key.id), NOW, REVOCATION_END), false)
      assert.deepEqual(await store.apiKeys.revokeAllByUser(nul(user.id), NOW, REVOCATION_END), [])
      await store.apiKeys.recordUse([{ id: nul(key.id), lastUsedAt: NOW + 60 }])
      assert.deepEqual((await store.apiKeys.findByHash(key.hash))?.key, key)
    }
  },
  {
    name: 'apiKeys: of 20 concurrent revokes of one key on two connections exactly one wins and appends one token revocation (5 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      for (let trial = 0; trial < 5; trial++) {
        const { user, keys: [key, bystander] } = await userWithKeys(stores[0], {}, {})
        const { values, errors } = await concurrently(20, async (index) => await stores[index % 2].apiKeys.revoke(user.id, key.id, NOW + 5, REVOCATION_END))
        assert.deepEqual(errors, [])
        assert.equal(values.filter(Boolean).length, 1)
        assert.deepEqual(await tokenRevocationsOf(stores[1], key.id), [{ kind: 'token', subject: key.id, version: 0, expiresAt: REVOCATION_END, createdAt: NOW + 5 }])
        assert.equal(await revokedAtOf(stores[1], key), NOW + 5)
        assert.equal(await stores[0].apiKeys.revoke(user.id, key.id, NOW + 6, REVOCATION_END), false, 'a revoked key')
        assert.equal(await revokedAtOf(stores[1], key), NOW + 5)
        assert.equal(await revokedAtOf(stores[1], bystander), null)
      }
      const { keys: [strangers] } = await userWithKeys(stores[0], {})
      const { user: other } = await userWithKeys(stores[0])
      assert.equal(await stores[0].apiKeys.revoke(other.id, strangers.id, NOW, REVOCATION_END), false, 'another user\'s key')
      assert.equal(await stores[0].apiKeys.revoke(other.id, newApiKey(other.id).id, NOW, REVOCATION_END), false, 'an unknown key')
      assert.equal(await revokedAtOf(stores[0], strangers), null)
      assert.deepEqual(await tokenRevocationsOf(stores[0], strangers.id), [])
    }
  },
  {
    name: 'apiKeys: revokeAllByUser twice at once and a revoke on two connections: each live key is reported and revoked once (10 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      for (let trial = 0; trial < 10; trial++) {
        const { user, keys } = await userWithKeys(stores[0], {}, {}, {}, {}, {})
        const { keys: [bystander] } = await userWithKeys(stores[0], {})
        const [revokedBefore, single, ...rest] = keys
        assert.equal(await stores[0].apiKeys.revoke(user.id, revokedBefore.id, NOW, REVOCATION_END), true)
        const { values, errors } = await concurrently(3, async (index) => index === 2
          ? await stores[0].apiKeys.revoke(user.id, single.id, NOW + 3, REVOCATION_END)
          : await stores[index].apiKeys.revokeAllByUser(user.id, NOW + 3, REVOCATION_END))
        assert.deepEqual(errors, [])
        const [first, second, singleWon] = values as [string[], string[], boolean]
        const reported = [...first, ...second, ...[single.id].filter(() => singleWon)]
        assert.deepEqual(reported.sort(), ids([single, ...rest]).sort(), 'every live key once, in total')
        for (const key of keys) {
          const createdAt = key === revokedBefore ? NOW : NOW + 3
          assert.deepEqual(await tokenRevocationsOf(stores[1], key.id), [{ kind: 'token', subject: key.id, version: 0, expiresAt: REVOCATION_END, createdAt }], 'one revocation per key')
        }
        for (const key of rest) assert.equal(await revokedAtOf(stores[1], key), NOW + 3)
        assert.equal(await revokedAtOf(stores[1], revokedBefore), NOW)
        assert.deepEqual(await stores[1].apiKeys.listByUser(user.id), [])
        assert.equal(await revokedAtOf(stores[1], bystander), null)
        const appended = (await stores[1].revocations.list({ afterId: 0 })).length
        assert.deepEqual(await stores[1].apiKeys.revokeAllByUser(user.id, NOW + 4, REVOCATION_END), [])
        assert.equal((await stores[1].revocations.list({ afterId: 0 })).length, appended, 'nothing to revoke, nothing appended')
      }
    }
  },
  {
    name: 'apiKeys: recordUse raises each key\'s lastUsedAt and never lowers it; unknown ids are ignored',
    async run (open) {
      const [store, other] = await twoConnections(open)
      const { keys: [key, second, untouched] } = await userWithKeys(store, {}, { lastUsedAt: NOW + 100 }, {})
      await store.apiKeys.recordUse([{ id: key.id, lastUsedAt: NOW + 60 }, { id: newApiKey(key.userId).id, lastUsedAt: NOW + 60 }, { id: second.id, lastUsedAt: NOW + 50 }])
      assert.equal((await other.apiKeys.findByHash(key.hash))?.key.lastUsedAt, NOW + 60)
      assert.equal((await other.apiKeys.findByHash(second.hash))?.key.lastUsedAt, NOW + 100, 'not lowered')
      await other.apiKeys.recordUse([{ id: key.id, lastUsedAt: NOW + 120 }, { id: key.id, lastUsedAt: NOW + 90 }])
      assert.equal((await store.apiKeys.findByHash(key.hash))?.key.lastUsedAt, NOW + 120, 'the later use of one batch stays')
      await store.apiKeys.recordUse([])
      assert.deepEqual((await store.apiKeys.findByHash(untouched.hash))?.key, untouched)
    }
  },
  {
    name: 'apiKeys: prune deletes keys revoked at or before now and keys expired at now, and says how many',
    async run (open) {
      const store = await open()
      const { user, keys: [revokedFirst, expiring, revokedLater, neverExpires, live] } =
        await userWithKeys(store, {}, { expiresAt: NOW + 2 }, {}, { expiresAt: null }, { expiresAt: NOW + 10 })
      assert.equal(await store.apiKeys.revoke(user.id, revokedFirst.id, NOW + 1, REVOCATION_END), true)
      assert.equal(await store.apiKeys.revoke(user.id, revokedLater.id, NOW + 3, REVOCATION_END), true)
      assert.equal(await store.apiKeys.prune(NOW), 0)
      assert.equal(await store.apiKeys.prune(NOW + 2), 2)
      assert.equal(await store.apiKeys.findByHash(revokedFirst.hash), undefined)
      assert.equal(await store.apiKeys.findByHash(expiring.hash), undefined)
      assert.equal(await revokedAtOf(store, revokedLater), NOW + 3)
      assert.equal(await store.apiKeys.prune(NOW + 3), 1)
      assert.equal(await store.apiKeys.prune(NOW + 3), 0)
      assert.deepEqual(ids(await store.apiKeys.listByUser(user.id)), ids([neverExpires, live]).sort())
    }
  },
  {
    name: 'apiKeys: deleting a user deletes their keys, and only theirs',
    async run (open) {
      const [store, other] = await twoConnections(open)
      const { user, keys } = await userWithKeys(store, {}, { expiresAt: null })
      const { user: bystander, keys: [kept] } = await userWithKeys(store, {})
      assert.equal(await other.users.delete(user.id, { now: NOW, expiresAt: REVOCATION_END }), true)
      for (const key of keys) assert.equal(await store.apiKeys.findByHash(key.hash), undefined)
      assert.deepEqual(await store.apiKeys.listByUser(user.id), [])
      assert.equal(await store.apiKeys.insert(newApiKey(user.id), MANY), false)
      assert.deepEqual(await store.apiKeys.findByHash(kept.hash), { key: kept, user: bystander })
    }
  }
]
