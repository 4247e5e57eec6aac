import assert from 'node:assert/strict'
import { concurrently, newAccountToken, newFamily, newToken, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

export const accountTokenCases: StoreContractCase[] = [
  {
    name: 'accountTokens: a token is found by hash and purpose until it expires, and find consumes nothing',
    async run (open) {
      const store = await open()
      const token = newAccountToken(newUser().id, { expiresAt: NOW + 600 })
      await store.accountTokens.insert(token)
      await store.accountTokens.insert(newAccountToken(token.userId))
      assert.deepEqual(await store.accountTokens.find(token.hash, 'password_reset', NOW), token)
      assert.deepEqual(await store.accountTokens.find(token.hash, 'password_reset', NOW + 599), token, 'found again: find consumed nothing')
      assert.equal(await store.accountTokens.find(token.hash, 'password_reset', NOW + 600), undefined, 'at expiresAt it is over')
      assert.equal(await store.accountTokens.find(newAccountToken(token.userId).hash, 'password_reset', NOW), undefined)
      const found = await store.accountTokens.find(token.hash, 'password_reset', NOW)
      assert.ok(found !== undefined)
      found.expiresAt = NOW + 99_999
      found.userId = 'someone else'
      assert.deepEqual(await store.accountTokens.find(token.hash, 'password_reset', NOW), token, 'results are copies')
    }
  },
  {
    name: 'accountTokens: consume returns the token once and deletes it; an expired token or another purpose is neither consumed nor returned',
    async run (open) {
      const store = await open()
      const token = newAccountToken(newUser().id, { purpose: 'email_verification', expiresAt: NOW + 600 })
      await store.accountTokens.insert(token)
      assert.equal(await store.accountTokens.consume(token.hash, 'password_reset', NOW), undefined, 'purposes are separate')
      assert.equal(await store.accountTokens.find(token.hash, 'password_reset', NOW), undefined)
      assert.equal(await store.accountTokens.consume(token.hash, 'email_verification', NOW + 600), undefined, 'expired')
      assert.deepEqual(await store.accountTokens.find(token.hash, 'email_verification', NOW), token, 'neither call deleted it')
      assert.deepEqual(await store.accountTokens.consume(token.hash, 'email_verification', NOW + 599), token)
      assert.equal(await store.accountTokens.consume(token.hash, 'email_verification', NOW), undefined, 'spent')
      assert.equal(await store.accountTokens.find(token.hash, 'email_verification', NOW), undefined)
      assert.equal(await store.accountTokens.consume(newAccountToken(token.userId).hash, 'password_reset', NOW), undefined, 'unknown')
    }
  },
  {
    name: 'accountTokens: of 50 concurrent consumes of one token on two connections exactly one gets it (5 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      for (let trial = 0; trial < 5; trial++) {
        const token = newAccountToken(newUser().id)
        await stores[0].accountTokens.insert(token)
        const { values, errors } = await concurrently(50, async (index) => await stores[index % 2].accountTokens.consume(token.hash, 'password_reset', NOW))
        assert.deepEqual(errors, [])
        assert.deepEqual(values.filter((value) => value !== undefined), [token])
        assert.equal(await stores[1].accountTokens.find(token.hash, 'password_reset', NOW), undefined)
      }
    }
  },
  {
    name: 'accountTokens: deleteByUser deletes the user\'s tokens of one purpose and says how many',
    async run (open) {
      const store = await open()
      const userId = newUser().id
      const resets = [newAccountToken(userId), newAccountToken(userId, { expiresAt: NOW - 1 })]
      const verification = newAccountToken(userId, { purpose: 'email_verification' })
      const another = newAccountToken(newUser().id)
      for (const token of [...resets, verification, another]) await store.accountTokens.insert(token)
      assert.equal(await store.accountTokens.deleteByUser(userId, 'password_reset'), 2, 'expired ones too')
      assert.equal(await store.accountTokens.find(resets[0].hash, 'password_reset', NOW), undefined)
      assert.deepEqual(await store.accountTokens.find(verification.hash, 'email_verification', NOW), verification)
      assert.deepEqual(await store.accountTokens.find(another.hash, 'password_reset', NOW), another)
      assert.equal(await store.accountTokens.deleteByUser(userId, 'password_reset'), 0)
    }
  },
  {
    name: 'accountTokens: prune deletes exactly those with expiresAt at or before now',
    async run (open) {
      const store = await open()
      const userId = newUser().id
      const tokens = [1, 2, 3].map((index) => newAccountToken(userId, { expiresAt: NOW + index }))
      for (const token of tokens) await store.accountTokens.insert(token)
      assert.equal(await store.accountTokens.prune(NOW), 0)
      assert.equal(await store.accountTokens.prune(NOW + 2), 2)
      assert.deepEqual(await store.accountTokens.find(tokens[2].hash, 'password_reset', NOW), tokens[2])
      assert.equal(await store.accountTokens.prune(NOW + 2), 0)
    }
  },
  {
    name: 'accountTokens: deleting a user deletes their account tokens, and only theirs',
    async run (open) {
      const [store, other] = await twoConnections(open)
      const user = newUser()
      const bystander = newUser()
      await store.users.insert(user)
      await store.users.insert(bystander)
      await store.families.create(newFamily(user.id), newToken())
      const tokens = [newAccountToken(user.id), newAccountToken(user.id, { purpose: 'email_verification' })]
      const kept = newAccountToken(bystander.id)
      for (const token of [...tokens, kept]) await store.accountTokens.insert(token)
      assert.equal(await other.users.delete(user.id, { now: NOW, expiresAt: NOW + 600 }), true)
      assert.equal(await store.accountTokens.find(tokens[0].hash, 'password_reset', NOW), undefined)
      assert.equal(await store.accountTokens.consume(tokens[1].hash, 'email_verification', NOW), undefined)
      assert.deepEqual(await store.accountTokens.find(kept.hash, 'password_reset', NOW), kept)
    }
  }
]
