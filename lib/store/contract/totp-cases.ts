import assert from 'node:assert/strict'
import type { AuthStore, TotpFactor, UserRecord } from '../ports.js'
import { concurrently, newTotpFactor, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

/** A user in the store with a confirmed factor, last used at `step`. */
async function userWithConfirmedFactor (store: AuthStore, step = 100): Promise<{ user: UserRecord, factor: TotpFactor }> {
  const user = newUser()
  await store.users.insert(user)
  const factor = newTotpFactor(user.id)
  assert.equal(await store.totp.stage(factor), true)
  assert.equal(await store.totp.confirm(user.id, factor.encryptedSecret, step, NOW + 1), true)
  return { user, factor: { ...factor, confirmedAt: NOW + 1, lastUsedStep: step } }
}

/** The same text with the case of every letter swapped. */
const caseSwapped = (text: string): string => [...text].map((char) => char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()).join('')

export const totpCases: StoreContractCase[] = [
  {
    name: 'totp: stage stores a pending factor that find returns as a copy, a second stage replaces it, and a missing user gets none',
    async run (open) {
      const store = await open()
      const missing = newTotpFactor(newUser().id)
      assert.equal(await store.totp.stage(missing), false, 'no such user')
      assert.equal(await store.totp.find(missing.userId), undefined)
      const user = newUser()
      await store.users.insert(user)
      assert.equal(await store.totp.find(user.id), undefined)
      const first = newTotpFactor(user.id)
      const kept = { ...first }
      assert.equal(await store.totp.stage(first), true)
      first.encryptedSecret = 'changed later'
      assert.deepEqual(await store.totp.find(user.id), kept, 'the staged factor was copied')
      const found = await store.totp.find(user.id)
      assert.ok(found !== undefined)
      found.confirmedAt = NOW
      assert.deepEqual(await store.totp.find(user.id), kept, 'results are copies')
      const second = newTotpFactor(user.id, { createdAt: NOW + 5 })
      assert.equal(await store.totp.stage(second), true, 'a pending factor is replaced')
      assert.deepEqual(await store.totp.find(user.id), second)
    }
  },
  {
    name: 'totp: confirm confirms only the pending factor with that very secret, once; a replaced secret or one differing in case is refused',
    async run (open) {
      const store = await open()
      const user = newUser()
      await store.users.insert(user)
      const replaced = newTotpFactor(user.id)
      const pending = newTotpFactor(user.id)
      assert.equal(await store.totp.stage(replaced), true)
      assert.equal(await store.totp.stage(pending), true)
      assert.equal(await store.totp.confirm(user.id, replaced.encryptedSecret, 100, NOW + 5), false, 'the secret the code was checked against is gone')
      assert.equal(await store.totp.confirm(user.id, caseSwapped(pending.encryptedSecret), 100, NOW + 5), false, 'secrets compare byte for byte')
      assert.equal(await store.totp.confirm(newUser().id, pending.encryptedSecret, 100, NOW + 5), false, 'another user')
      assert.deepEqual(await store.totp.find(user.id), pending, 'nothing changed')
      assert.equal(await store.totp.confirm(user.id, pending.encryptedSecret, 100, NOW + 5), true)
      assert.deepEqual(await store.totp.find(user.id), { ...pending, confirmedAt: NOW + 5, lastUsedStep: 100 })
      assert.equal(await store.totp.confirm(user.id, pending.encryptedSecret, 101, NOW + 6), false, 'confirmed already')
      assert.deepEqual(await store.totp.find(user.id), { ...pending, confirmedAt: NOW + 5, lastUsedStep: 100 })
    }
  },
  {
    name: 'totp: of 20 concurrent confirms of one pending factor on two connections exactly one gets true',
    async run (open) {
      const stores = await twoConnections(open)
      const user = newUser()
      await stores[0].users.insert(user)
      const factor = newTotpFactor(user.id)
      assert.equal(await stores[0].totp.stage(factor), true)
      const { values, errors } = await concurrently(20, async (index) => await stores[index % 2].totp.confirm(user.id, factor.encryptedSecret, 100 + index, NOW + 1))
      assert.deepEqual(errors, [])
      assert.equal(values.filter(Boolean).length, 1)
      assert.equal((await stores[1].totp.find(user.id))?.lastUsedStep, 100 + values.indexOf(true), 'the winner\'s step')
    }
  },
  {
    name: 'totp: stage is refused while the factor is confirmed, changing nothing; remove deletes it (once) and staging works again',
    async run (open) {
      const store = await open()
      const { user, factor } = await userWithConfirmedFactor(store)
      const another = newTotpFactor(user.id)
      assert.equal(await store.totp.stage(another), false)
      assert.deepEqual(await store.totp.find(user.id), factor)
      assert.equal(await store.totp.remove(user.id), true)
      assert.equal(await store.totp.remove(user.id), false, 'nothing left to remove')
      assert.equal(await store.totp.find(user.id), undefined)
      assert.equal(await store.totp.stage(another), true)
      assert.equal(await store.totp.remove(user.id), true, 'a pending factor is removed too')
      assert.equal(await store.totp.remove(newUser().id), false, 'unknown user')
    }
  },
  {
    name: 'totp: useStep accepts only a step above the last accepted one, for the confirmed factor with that secret',
    async run (open) {
      const store = await open()
      const user = newUser()
      await store.users.insert(user)
      const pending = newTotpFactor(user.id)
      assert.equal(await store.totp.stage(pending), true)
      assert.equal(await store.totp.useStep(user.id, pending.encryptedSecret, 5), false, 'a pending factor is no factor yet')
      assert.equal(await store.totp.confirm(user.id, pending.encryptedSecret, 100, NOW + 1), true)
      assert.equal(await store.totp.useStep(user.id, pending.encryptedSecret, 99), false, 'an earlier step')
      assert.equal(await store.totp.useStep(user.id, pending.encryptedSecret, 100), false, 'the step that confirmed it')
      assert.equal(await store.totp.useStep(user.id, caseSwapped(pending.encryptedSecret), 101), false, 'another secret')
      assert.equal(await store.totp.useStep(newUser().id, pending.encryptedSecret, 101), false, 'another user')
      assert.equal(await store.totp.useStep(user.id, pending.encryptedSecret, 101), true)
      assert.equal(await store.totp.useStep(user.id, pending.encryptedSecret, 101), false, 'a replay')
      assert.equal(await store.totp.useStep(user.id, pending.encryptedSecret, 103), true, 'a later step, skipping one')
      assert.equal(await store.totp.useStep(user.id, pending.encryptedSecret, 102), false, 'the skipped step is over')
      assert.equal((await store.totp.find(user.id))?.lastUsedStep, 103)
    }
  },
  {
    name: 'totp: of 20 concurrent useStep calls with one step on two connections exactly one gets true (5 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      const { user, factor } = await userWithConfirmedFactor(stores[0])
      for (let trial = 0; trial < 5; trial++) {
        const step = 200 + trial
        const { values, errors } = await concurrently(20, async (index) => await stores[index % 2].totp.useStep(user.id, factor.encryptedSecret, step))
        assert.deepEqual(errors, [])
        assert.equal(values.filter(Boolean).length, 1)
        assert.equal((await stores[1].totp.find(user.id))?.lastUsedStep, step)
      }
    }
  }
]
