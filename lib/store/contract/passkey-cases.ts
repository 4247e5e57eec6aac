import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { AuthStore, PasskeyRecord, UserRecord } from '../ports.js'
import { concurrently, newPasskey, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

/** A limit no case reaches unless it means to. */
const MANY = 1000

/** A user in the store, with a passkey inserted for each of `passkeys`. */
async function userWithPasskeys (store: AuthStore, ...passkeys: Array<Partial<PasskeyRecord>>): Promise<{ user: UserRecord, passkeys: PasskeyRecord[] }> {
  const user = newUser()
  await store.users.insert(user)
  const inserted = passkeys.map((overrides) => newPasskey(user.id, overrides))
  for (const passkey of inserted) assert.equal(await store.passkeys.insert(passkey, MANY), true)
  return { user, passkeys: inserted }
}

const ids = (passkeys: readonly PasskeyRecord[]): string[] => passkeys.map((passkey) => passkey.id)

/** The same text with the case of every letter swapped. */
const caseSwapped = (text: string): string => [...text].map((char) => char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()).join('')

export const passkeyCases: StoreContractCase[] = [
  {
    name: 'passkeys: a passkey is found by its credential id, the longest too, exactly, with its user as they are now, and the results are copies',
    async run (open) {
      const store = await open()
      const user = newUser({ roles: ['admin'] })
      await store.users.insert(user)
      // The longest id (1364 base64url characters: 1023 bytes), the longest name (one character outside the BMP).
      const passkey = newPasskey(user.id, { id: randomBytes(1023).toString('base64url'), name: `Clé 🔑 ${'x'.repeat(93)}`, transports: ['usb', 'nfc'], deviceType: 'singleDevice', backedUp: false, counter: 4_294_967_295 })
      assert.equal(passkey.id.length, 1364)
      const kept = structuredClone(passkey)
      assert.equal(await store.passkeys.insert(passkey, MANY), true)
      passkey.transports.push('added later')
      assert.deepEqual(await store.passkeys.findById(kept.id), { passkey: kept, user }, 'the inserted record was copied')
      const found = await store.passkeys.findById(kept.id)
      assert.ok(found !== undefined)
      found.passkey.transports.push('ble')
      found.passkey.counter = 0
      found.user.roles.push('root')
      assert.deepEqual(await store.passkeys.findById(kept.id), { passkey: kept, user }, 'results are copies')
      const updated = await store.users.update(user.id, { set: { roles: ['viewer'] } })
      assert.deepEqual((await store.passkeys.findById(kept.id))?.user, updated, 'the user as they are now')
      for (const unknown of [newPasskey(user.id).id, caseSwapped(kept.id), kept.id.slice(0, -1), '', 'a\u0000b']) {
        assert.equal(await store.passkeys.findById(unknown), undefined, unknown.slice(0, 20))
      }
    }
  },
  {
    name: 'passkeys: insert refuses a missing or disabled user, a credential id already stored (for anyone), and one past maxPerUser, writing nothing',
    async run (open) {
      const store = await open()
      const missing = newPasskey(newUser().id)
      assert.equal(await store.passkeys.insert(missing, MANY), false, 'no such user')
      assert.equal(await store.passkeys.findById(missing.id), undefined)
      const disabled = newUser({ disabled: true })
      await store.users.insert(disabled)
      const refused = newPasskey(disabled.id)
      assert.equal(await store.passkeys.insert(refused, MANY), false, 'a disabled user')
      assert.equal(await store.passkeys.findById(refused.id), undefined)
      await store.users.update(disabled.id, { set: { disabled: false } })
      assert.equal(await store.passkeys.insert(refused, MANY), true, 'enabled again')

      const { user, passkeys: [first, second] } = await userWithPasskeys(store, {}, {})
      assert.equal(await store.passkeys.insert({ ...first, name: 'again' }, MANY), false, 'the same credential id')
      assert.equal(await store.passkeys.insert(newPasskey(disabled.id, { id: first.id }), MANY), false, 'the same credential id, by another user')
      assert.deepEqual((await store.passkeys.findById(first.id))?.passkey, first, 'the first one kept')
      const third = newPasskey(user.id)
      assert.equal(await store.passkeys.insert(third, 2), false, 'at the limit')
      assert.equal(await store.passkeys.insert(third, 0), false)
      assert.equal(await store.passkeys.findById(third.id), undefined)
      assert.equal(await store.passkeys.remove(user.id, first.id), true)
      assert.equal(await store.passkeys.insert(third, 2), true, 'a removed passkey does not count')
      assert.deepEqual(ids(await store.passkeys.listByUser(user.id)).sort(), ids([second, third]).sort())
    }
  },
  {
    name: 'passkeys: of 60 concurrent inserts for one user on two connections with maxPerUser 5, exactly 5 succeed',
    async run (open) {
      const stores = await twoConnections(open)
      const { user, passkeys: [held] } = await userWithPasskeys(stores[0], {})
      const passkeys = Array.from({ length: 60 }, () => newPasskey(user.id))
      const { values, errors } = await concurrently(passkeys.length, async (index) => await stores[index % 2].passkeys.insert(passkeys[index], 5))
      assert.deepEqual(errors, [])
      assert.equal(values.filter(Boolean).length, 4, 'the held passkey is one of the 5')
      const inserted = passkeys.filter((_, index) => values[index])
      assert.deepEqual(ids(await stores[1].passkeys.listByUser(user.id)).sort(), ids([held, ...inserted]).sort())
    }
  },
  {
    name: 'passkeys: of 20 concurrent inserts of one credential id by different users on two connections exactly one succeeds, the others get false',
    async run (open) {
      const stores = await twoConnections(open)
      const users = Array.from({ length: 20 }, () => newUser())
      for (const user of users) await stores[0].users.insert(user)
      const id = randomBytes(32).toString('base64url')
      const { values, errors } = await concurrently(users.length, async (index) => await stores[index % 2].passkeys.insert(newPasskey(users[index].id, { id }), MANY))
      assert.deepEqual(errors, [])
      assert.equal(values.filter(Boolean).length, 1)
      assert.equal((await stores[1].passkeys.findById(id))?.user.id, users[values.indexOf(true)].id)
    }
  },
  {
    name: 'passkeys: listByUser gives the user\'s passkeys by createdAt then id in byte order, as copies',
    async run (open) {
      const store = await open()
      // Byte order: '-' < digits < upper case < '_' < lower case.
      const order = ['k-1', 'k0', 'kA', 'kB', 'k_', 'ka', 'kb']
      const { user, passkeys } = await userWithPasskeys(store,
        { id: 'later', createdAt: NOW + 2 },
        ...[...order].reverse().map((id) => ({ id, createdAt: NOW + 1 })),
        { id: 'earliest', createdAt: NOW, lastUsedAt: NOW + 5 })
      await userWithPasskeys(store, { createdAt: NOW })
      const listed = await store.passkeys.listByUser(user.id)
      assert.deepEqual(ids(listed), ['earliest', ...order, 'later'])
      assert.deepEqual(listed[0], passkeys.find((passkey) => passkey.id === 'earliest'))
      listed[0].transports.push('usb')
      listed[0].name = 'changed'
      assert.deepEqual((await store.passkeys.listByUser(user.id))[0], passkeys.find((passkey) => passkey.id === 'earliest'), 'results are copies')
      assert.deepEqual(await store.passkeys.listByUser(newUser().id), [])
    }
  },
  {
    name: 'passkeys: rename and remove act only on the owner\'s passkey; remove is true once',
    async run (open) {
      const store = await open()
      const { user, passkeys: [passkey] } = await userWithPasskeys(store, {})
      const { user: stranger, passkeys: [strangers] } = await userWithPasskeys(store, {})
      const name = `Téléphone 📱 ${'n'.repeat(87)}`
      assert.equal(await store.passkeys.rename(user.id, passkey.id, name), true)
      assert.deepEqual((await store.passkeys.findById(passkey.id))?.passkey, { ...passkey, name })
      assert.equal(await store.passkeys.rename(user.id, passkey.id, name), true, 'to the name it has')
      assert.equal(await store.passkeys.rename(stranger.id, passkey.id, 'mine now'), false, 'another user\'s passkey')
      assert.equal(await store.passkeys.rename(user.id, strangers.id, 'mine now'), false)
      assert.equal(await store.passkeys.rename(user.id, newPasskey(user.id).id, 'unknown'), false)
      assert.equal(await store.passkeys.remove(stranger.id, passkey.id), false, 'another user\'s passkey')
      assert.equal(await store.passkeys.remove(user.id, passkey.id), true)
      assert.equal(await store.passkeys.remove(user.id, passkey.id), false, 'removed already')
      assert.equal(await store.passkeys.findById(passkey.id), undefined)
      assert.equal(await store.passkeys.rename(user.id, passkey.id, 'gone'), false)
      assert.deepEqual((await store.passkeys.findById(strangers.id))?.passkey, strangers)
    }
  },
  {
    name: 'passkeys: recordUse stores the counter, backedUp and lastUsedAt only while the stored counter is previousCounter',
    async run (open) {
      const store = await open()
      const { passkeys: [passkey, other] } = await userWithPasskeys(store, { counter: 7, backedUp: false }, { counter: 7 })
      assert.equal(await store.passkeys.recordUse(passkey.id, { previousCounter: 6, counter: 8, backedUp: true, now: NOW + 1 }), false, 'a stale counter')
      assert.equal(await store.passkeys.recordUse(newPasskey(passkey.userId).id, { previousCounter: 7, counter: 8, backedUp: true, now: NOW + 1 }), false, 'unknown')
      assert.deepEqual((await store.passkeys.findById(passkey.id))?.passkey, passkey, 'nothing changed')
      assert.equal(await store.passkeys.recordUse(passkey.id, { previousCounter: 7, counter: 9, backedUp: true, now: NOW + 2 }), true)
      assert.deepEqual((await store.passkeys.findById(passkey.id))?.passkey, { ...passkey, counter: 9, backedUp: true, lastUsedAt: NOW + 2 })
      assert.equal(await store.passkeys.recordUse(passkey.id, { previousCounter: 7, counter: 10, backedUp: true, now: NOW + 3 }), false, 'the counter moved on')
      assert.deepEqual((await store.passkeys.findById(other.id))?.passkey, other, 'only that passkey')
    }
  },
  {
    name: 'passkeys: of 20 concurrent recordUse calls with one previousCounter on two connections exactly one gets true (5 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      const { passkeys: [passkey] } = await userWithPasskeys(stores[0], { counter: 1 })
      let counter = 1
      for (let trial = 0; trial < 5; trial++) {
        const { values, errors } = await concurrently(20, async (index) => await stores[index % 2].passkeys.recordUse(passkey.id, { previousCounter: counter, counter: counter + 1 + index, backedUp: true, now: NOW + trial }))
        assert.deepEqual(errors, [])
        assert.equal(values.filter(Boolean).length, 1)
        counter = counter + 1 + values.indexOf(true)
        assert.equal((await stores[1].passkeys.findById(passkey.id))?.passkey.counter, counter, 'the winner\'s counter')
      }
    }
  }
]
