import assert from 'node:assert/strict'
import type { Revocation } from '../ports.js'
import { concurrently, NOW, twoConnections, type StoreContractCase } from './case.js'

const revocation = (index: number): Revocation => ({ kind: 'token', subject: `jti-${index}`, version: 0, expiresAt: NOW + 100 + index })

export const revocationCases: StoreContractCase[] = [
  {
    name: 'revocations: appended revocations are listed by ascending id, within id ranges and limits',
    async run (open) {
      const store = await open()
      assert.deepEqual(await store.revocations.list({ afterId: 0 }), [])
      await store.revocations.append({ kind: 'user', subject: 'u1', version: 7, expiresAt: NOW + 60 }, NOW + 0.9)
      for (let index = 1; index < 5; index++) await store.revocations.append(revocation(index), NOW + index)
      const all = await store.revocations.list({ afterId: 0 })
      assert.deepEqual(all.map(({ id, ...stored }) => stored), [
        { kind: 'user', subject: 'u1', version: 7, expiresAt: NOW + 60, createdAt: NOW },
        ...[1, 2, 3, 4].map((index) => ({ ...revocation(index), createdAt: NOW + index }))
      ])
      const ids = all.map((stored) => stored.id)
      for (let index = 1; index < ids.length; index++) assert.ok(ids[index] > ids[index - 1], 'ids increase')
      assert.deepEqual(await store.revocations.list({ afterId: ids[1] }), all.slice(2))
      assert.deepEqual(await store.revocations.list({ afterId: ids[0], beforeId: ids[3] }), all.slice(1, 3))
      assert.deepEqual(await store.revocations.list({ afterId: 0, limit: 2 }), all.slice(0, 2))
      assert.deepEqual(await store.revocations.list({ afterId: ids[1], beforeId: ids[4], limit: 1 }), all.slice(2, 3))
      assert.deepEqual(await store.revocations.list({ afterId: ids[4] }), [])
      const [first] = await store.revocations.list({ afterId: 0, limit: 1 })
      first.subject = 'changed'
      assert.deepEqual(await store.revocations.list({ afterId: 0, limit: 1 }), all.slice(0, 1), 'results are copies')
    }
  },
  {
    name: 'revocations: concurrent appends on two connections all get distinct ids',
    async run (open) {
      const stores = await twoConnections(open)
      const { errors } = await concurrently(40, async (index) => { await stores[index % 2].revocations.append(revocation(index), NOW) })
      assert.deepEqual(errors, [])
      const all = await stores[0].revocations.list({ afterId: 0 })
      assert.equal(new Set(all.map((stored) => stored.id)).size, 40)
      assert.deepEqual(all.map((stored) => stored.subject).sort(), Array.from({ length: 40 }, (_, index) => `jti-${index}`).sort())
    }
  },
  {
    name: 'revocations: prune deletes exactly those with expiresAt at or before now',
    async run (open) {
      const store = await open()
      for (let index = 1; index <= 3; index++) await store.revocations.append(revocation(index), NOW)
      assert.equal(await store.revocations.prune(NOW + 100), 0)
      assert.equal(await store.revocations.prune(NOW + 102), 2)
      assert.deepEqual((await store.revocations.list({ afterId: 0 })).map((stored) => stored.subject), ['jti-3'])
      assert.equal(await store.revocations.prune(NOW + 102), 0)
    }
  }
]
