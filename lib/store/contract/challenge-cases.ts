import assert from 'node:assert/strict'
import { concurrently, newChallenge, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

export const challengeCases: StoreContractCase[] = [
  {
    name: 'challenges: a challenge is found by hash and purpose until it expires, with or without a user, and find consumes nothing',
    async run (open) {
      const store = await open()
      const challenge = newChallenge(newUser().id, { binding: `${'b'.repeat(190)}🔑`, expiresAt: NOW + 300 })
      const anonymous = newChallenge(null, { purpose: 'passkey_login' })
      await store.challenges.insert(challenge)
      await store.challenges.insert(anonymous)
      assert.deepEqual(await store.challenges.find(challenge.hash, 'mfa_login', NOW), challenge)
      assert.deepEqual(await store.challenges.find(challenge.hash, 'mfa_login', NOW + 299), challenge, 'found again: find consumed nothing')
      assert.equal(await store.challenges.find(challenge.hash, 'mfa_login', NOW + 300), undefined, 'at expiresAt it is over')
      assert.equal(await store.challenges.find(challenge.hash, 'passkey_login', NOW), undefined, 'another purpose')
      assert.deepEqual(await store.challenges.find(anonymous.hash, 'passkey_login', NOW), anonymous)
      assert.equal(await store.challenges.find(newChallenge(null).hash, 'mfa_login', NOW), undefined)
      assert.equal(await store.challenges.find('a\u0000b', 'mfa_login', NOW), undefined)
      const found = await store.challenges.find(challenge.hash, 'mfa_login', NOW)
      assert.ok(found !== undefined)
      found.expiresAt = NOW + 99_999
      found.binding = 'elsewhere'
      assert.deepEqual(await store.challenges.find(challenge.hash, 'mfa_login', NOW), challenge, 'results are copies')
    }
  },
  {
    name: 'challenges: consume returns the challenge once and deletes it; an expired one or another purpose is neither consumed nor returned',
    async run (open) {
      const store = await open()
      const challenge = newChallenge(newUser().id, { purpose: 'passkey_registration', expiresAt: NOW + 300 })
      await store.challenges.insert(challenge)
      assert.equal(await store.challenges.consume(challenge.hash, 'passkey_login', NOW), undefined, 'purposes are separate')
      assert.equal(await store.challenges.consume(challenge.hash, 'passkey_registration', NOW + 300), undefined, 'expired')
      assert.deepEqual(await store.challenges.find(challenge.hash, 'passkey_registration', NOW), challenge, 'neither call deleted it')
      assert.deepEqual(await store.challenges.consume(challenge.hash, 'passkey_registration', NOW + 299), challenge)
      assert.equal(await store.challenges.consume(challenge.hash, 'passkey_registration', NOW), undefined, 'spent')
      assert.equal(await store.challenges.find(challenge.hash, 'passkey_registration', NOW), undefined)
      assert.equal(await store.challenges.consume(newChallenge(null).hash, 'mfa_login', NOW), undefined, 'unknown')
      assert.equal(await store.challenges.consume('a\u0000b', 'mfa_login', NOW), undefined)
    }
  },
  {
    name: 'challenges: of 20 concurrent consumes of one challenge on two connections exactly one gets it (5 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      for (let trial = 0; trial < 5; trial++) {
        const challenge = newChallenge(trial % 2 === 0 ? newUser().id : null)
        await stores[0].challenges.insert(challenge)
        const { values, errors } = await concurrently(20, async (index) => await stores[index % 2].challenges.consume(challenge.hash, 'mfa_login', NOW))
        assert.deepEqual(errors, [])
        assert.deepEqual(values.filter((value) => value !== undefined), [challenge])
        assert.equal(await stores[1].challenges.find(challenge.hash, 'mfa_login', NOW), undefined)
      }
    }
  },
  {
    name: 'challenges: prune deletes exactly those with expiresAt at or before now',
    async run (open) {
      const store = await open()
      const challenges = [1, 2, 3].map((index) => newChallenge(null, { expiresAt: NOW + index }))
      for (const challenge of challenges) await store.challenges.insert(challenge)
      assert.equal(await store.challenges.prune(NOW), 0)
      assert.equal(await store.challenges.prune(NOW + 2), 2)
      assert.deepEqual(await store.challenges.find(challenges[2].hash, 'mfa_login', NOW), challenges[2])
      assert.equal(await store.challenges.prune(NOW + 2), 0)
    }
  }
]
