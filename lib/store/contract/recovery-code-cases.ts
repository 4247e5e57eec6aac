import assert from 'node:assert/strict'
import type { AuthStore, UserRecord } from '../ports.js'
import { concurrently, newCodeHashes, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

async function storedUser (store: AuthStore): Promise<UserRecord> {
  const user = newUser()
  await store.users.insert(user)
  return user
}

export const recoveryCodeCases: StoreContractCase[] = [
  {
    name: 'recoveryCodes: each code of the set is used once, by its own user; countUnused counts the rest; removeAll removes used ones too',
    async run (open) {
      const store = await open()
      const user = await storedUser(store)
      const bystander = await storedUser(store)
      const hashes = newCodeHashes()
      await store.recoveryCodes.replace(user.id, hashes, NOW)
      await store.recoveryCodes.replace(bystander.id, newCodeHashes(3), NOW)
      assert.equal(await store.recoveryCodes.countUnused(user.id), 10)
      assert.equal(await store.recoveryCodes.use(bystander.id, hashes[0], NOW + 1), false, 'another user\'s code')
      assert.equal(await store.recoveryCodes.use(user.id, newCodeHashes(1)[0], NOW + 1), false, 'unknown')
      assert.equal(await store.recoveryCodes.use(user.id, hashes[0], NOW + 1), true)
      assert.equal(await store.recoveryCodes.use(user.id, hashes[0], NOW + 2), false, 'used')
      assert.equal(await store.recoveryCodes.use(user.id, hashes[9], NOW + 2), true)
      assert.equal(await store.recoveryCodes.countUnused(user.id), 8)
      assert.equal(await store.recoveryCodes.countUnused(newUser().id), 0)
      assert.equal(await store.recoveryCodes.removeAll(user.id), 10)
      assert.equal(await store.recoveryCodes.countUnused(user.id), 0)
      assert.equal(await store.recoveryCodes.use(user.id, hashes[1], NOW + 3), false)
      assert.equal(await store.recoveryCodes.removeAll(user.id), 0)
      assert.equal(await store.recoveryCodes.countUnused(bystander.id), 3, 'only theirs')
    }
  },
  {
    name: 'recoveryCodes: replace voids the whole old set, used codes too',
    async run (open) {
      const store = await open()
      const user = await storedUser(store)
      const old = newCodeHashes()
      await store.recoveryCodes.replace(user.id, old, NOW)
      assert.equal(await store.recoveryCodes.use(user.id, old[0], NOW + 1), true)
      const fresh = newCodeHashes()
      await store.recoveryCodes.replace(user.id, fresh, NOW + 2)
      assert.equal(await store.recoveryCodes.countUnused(user.id), 10)
      for (const hash of old) assert.equal(await store.recoveryCodes.use(user.id, hash, NOW + 3), false)
      assert.equal(await store.recoveryCodes.use(user.id, fresh[0], NOW + 3), true)
      assert.equal(await store.recoveryCodes.removeAll(user.id), 10, 'the old set is gone, not kept as used')
      await store.recoveryCodes.replace(user.id, [], NOW + 4)
      assert.equal(await store.recoveryCodes.countUnused(user.id), 0)
    }
  },
  {
    name: 'recoveryCodes: of 20 concurrent uses of one code on two connections exactly one gets true (5 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      const user = await storedUser(stores[0])
      const hashes = newCodeHashes(5)
      await stores[0].recoveryCodes.replace(user.id, hashes, NOW)
      for (const hash of hashes) {
        const { values, errors } = await concurrently(20, async (index) => await stores[index % 2].recoveryCodes.use(user.id, hash, NOW + 1))
        assert.deepEqual(errors, [])
        assert.equal(values.filter(Boolean).length, 1)
      }
      assert.equal(await stores[1].recoveryCodes.countUnused(user.id), 0)
    }
  },
  {
    name: 'recoveryCodes: 10 concurrent replaces on two connections leave exactly one whole set',
    async run (open) {
      const stores = await twoConnections(open)
      const user = await storedUser(stores[0])
      const sets = Array.from({ length: 10 }, () => newCodeHashes())
      const { errors } = await concurrently(sets.length, async (index) => { await stores[index % 2].recoveryCodes.replace(user.id, sets[index], NOW) })
      assert.deepEqual(errors, [])
      assert.equal(await stores[0].recoveryCodes.countUnused(user.id), 10)
      const kept = []
      for (const set of sets) if (await stores[1].recoveryCodes.use(user.id, set[0], NOW + 1)) kept.push(set)
      assert.equal(kept.length, 1)
      assert.equal(await stores[0].recoveryCodes.countUnused(user.id), 9, 'all ten of that set')
    }
  }
]
