import assert from 'node:assert/strict'
import type { AuthStore, IssuedRefreshToken, NewRefreshFamily } from '../ports.js'
import { concurrently, newFamily, newToken, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

const ACCESS_TOKENS_END = NOW + 900

/** A user with one session: the family and its first token. */
async function session (store: AuthStore, overrides: Partial<NewRefreshFamily> = {}): Promise<{ family: NewRefreshFamily, token: IssuedRefreshToken }> {
  const user = newUser()
  await store.users.insert(user)
  const family = newFamily(user.id, overrides)
  const token = newToken()
  await store.families.create(family, token)
  return { family, token }
}

export const familyCases: StoreContractCase[] = [
  {
    name: 'families: a created family is found by its first token',
    async run (open) {
      const store = await open()
      const { family, token } = await session(store)
      assert.deepEqual(await store.families.findByToken(token.hash), {
        family: { ...family, currentTokenHash: token.hash, previousTokenHash: null, rotatedAt: null, revokedAt: null },
        token
      })
      assert.equal(await store.families.findByToken(newToken().hash), undefined)
    }
  },
  {
    name: 'families: rotate swaps the current token once, and a spent token is still found until it expires',
    async run (open) {
      const store = await open()
      const { family, token } = await session(store)
      const successor = newToken(NOW + 7200)
      assert.equal(await store.families.rotate(family.id, token.hash, successor, NOW + 10), true)
      const rotated = { ...family, currentTokenHash: successor.hash, previousTokenHash: token.hash, rotatedAt: NOW + 10, revokedAt: null }
      assert.deepEqual(await store.families.findByToken(successor.hash), { family: rotated, token: successor })
      assert.deepEqual(await store.families.findByToken(token.hash), { family: rotated, token }, 'the spent token, for reuse detection')
      assert.equal(await store.families.rotate(family.id, token.hash, newToken(), NOW + 11), false, 'a spent token rotates no more')
      assert.deepEqual((await store.families.findByToken(successor.hash))?.family, rotated)
      assert.equal(await store.families.prune(token.expiresAt), 1)
      assert.equal(await store.families.findByToken(token.hash), undefined)
      assert.deepEqual((await store.families.findByToken(successor.hash))?.family, rotated)
    }
  },
  {
    name: 'families: where a session was used from is kept; a rotation with a client replaces it, one without keeps it, a failed one changes nothing',
    async run (open) {
      const store = await open()
      const userAgent = `Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0 ${'é'.repeat(40)}`.padEnd(512, 'x')
      const { family, token } = await session(store, { clientAddress: '2001:db8:85a3:8d3:1319:8a2e:370:7348', userAgent })
      const created = { ...family, currentTokenHash: token.hash, previousTokenHash: null, rotatedAt: null, revokedAt: null }
      assert.deepEqual((await store.families.findByToken(token.hash))?.family, created)
      const second = newToken()
      assert.equal(await store.families.rotate(family.id, token.hash, second, NOW + 1), true)
      const rotated = { ...created, currentTokenHash: second.hash, previousTokenHash: token.hash, rotatedAt: NOW + 1 }
      assert.deepEqual((await store.families.findByToken(second.hash))?.family, rotated, 'kept without a client')
      const third = newToken()
      assert.equal(await store.families.rotate(family.id, second.hash, third, NOW + 2, { clientAddress: '192.0.2.7', userAgent: null }), true)
      const moved = { ...rotated, currentTokenHash: third.hash, previousTokenHash: second.hash, rotatedAt: NOW + 2, clientAddress: '192.0.2.7', userAgent: null }
      assert.deepEqual((await store.families.findByToken(third.hash))?.family, moved)
      assert.equal(await store.families.rotate(family.id, second.hash, newToken(), NOW + 3, { clientAddress: '198.51.100.1', userAgent: 'curl/8' }), false, 'a spent token')
      assert.deepEqual((await store.families.findByToken(third.hash))?.family, moved, 'the failed rotation changed nothing')
      assert.deepEqual(await store.families.listByUser(family.userId, NOW), [moved])
      const unknown = await session(store)
      assert.deepEqual((await store.families.listByUser(unknown.family.userId, NOW)).map(({ clientAddress, userAgent }) => ({ clientAddress, userAgent })), [{ clientAddress: null, userAgent: null }])
    }
  },
  {
    name: 'families: rotate fails on a revoked, expired or unknown family and on a token that is not the current one',
    async run (open) {
      const store = await open()
      const { family, token } = await session(store, { expiresAt: NOW + 100 })
      assert.equal(await store.families.rotate(family.id, newToken().hash, newToken(), NOW), false)
      assert.equal(await store.families.rotate(newFamily(family.userId).id, token.hash, newToken(), NOW), false)
      assert.equal(await store.families.rotate(family.id, token.hash, newToken(), NOW + 100), false, 'at expiresAt the session is over')
      assert.equal(await store.families.rotate(family.id, token.hash, newToken(), NOW + 99), true)
      const revoked = await session(store)
      assert.equal(await store.families.revoke(revoked.family.id, NOW, ACCESS_TOKENS_END), true)
      assert.equal(await store.families.rotate(revoked.family.id, revoked.token.hash, newToken(), NOW), false)
      assert.equal((await store.families.findByToken(revoked.token.hash))?.family.currentTokenHash, revoked.token.hash)
    }
  },
  {
    name: 'families: two concurrent rotations of one token on two connections: exactly one succeeds (20 trials)',
    async run (open) {
      const stores = await twoConnections(open)
      for (let trial = 0; trial < 20; trial++) {
        const { family, token } = await session(stores[0])
        const successors = [newToken(), newToken()]
        const { values, errors } = await concurrently(2, async (index) => await stores[index].families.rotate(family.id, token.hash, successors[index], NOW + 1))
        assert.deepEqual(errors, [])
        assert.deepEqual([...values].sort(), [false, true])
        const winner = successors[values.indexOf(true)]
        assert.equal((await stores[1].families.findByToken(token.hash))?.family.currentTokenHash, winner.hash)
        assert.equal(await stores[0].families.findByToken(successors[values.indexOf(false)].hash), undefined, 'the loser issued nothing')
      }
    }
  },
  {
    name: 'families: a refresh loop racing a revoke on another connection keeps no live token once the revoke resolved (50 trials)',
    async run (open) {
      const [client, logout] = await twoConnections(open)
      for (let trial = 0; trial < 50; trial++) {
        const { family, token } = await session(client)
        let revokeResolved = false
        let current = token
        const refreshLoop = async (): Promise<void> => {
          for (;;) {
            const startedAfterRevoke = revokeResolved
            const successor = newToken()
            if (!await client.families.rotate(family.id, current.hash, successor, NOW + 1)) return
            assert.equal(startedAfterRevoke, false, 'a rotation that started after the revoke resolved succeeded')
            current = successor
            // A client waits for each answer: the other connection gets its turn.
            await new Promise((resolve) => setImmediate(resolve))
          }
        }
        const loop = refreshLoop()
        // Let the loop get some rotations in first on some trials, none on others.
        for (let turn = 0; turn < trial % 5; turn++) await new Promise((resolve) => setImmediate(resolve))
        assert.equal(await logout.families.revoke(family.id, NOW + 1, ACCESS_TOKENS_END), true)
        revokeResolved = true
        await loop
        const found = await logout.families.findByToken(current.hash)
        assert.equal(found?.family.revokedAt, NOW + 1)
        assert.equal(found?.family.currentTokenHash, current.hash, 'the last token issued is the current one')
        assert.equal(await client.families.rotate(family.id, current.hash, newToken(), NOW + 2), false)
        const sessions = (await client.revocations.list({ afterId: 0 })).filter((revocation) => revocation.subject === family.id)
        assert.equal(sessions.length, 1)
      }
    }
  },
  {
    name: 'families: revoke appends one session revocation; revoking again, concurrently or an unknown family writes nothing',
    async run (open) {
      const stores = await twoConnections(open)
      const { family, token } = await session(stores[0])
      const { values, errors } = await concurrently(6, async (index) => await stores[index % 2].families.revoke(family.id, NOW + 5, ACCESS_TOKENS_END))
      assert.deepEqual(errors, [])
      assert.equal(values.filter(Boolean).length, 1)
      assert.equal(await stores[0].families.revoke(family.id, NOW + 6, ACCESS_TOKENS_END), false)
      assert.equal(await stores[0].families.revoke(newFamily(family.userId).id, NOW + 6, ACCESS_TOKENS_END), false)
      assert.equal((await stores[1].families.findByToken(token.hash))?.family.revokedAt, NOW + 5)
      const revocations = await stores[1].revocations.list({ afterId: 0 })
      assert.deepEqual(revocations.map(({ id, ...revocation }) => revocation), [{ kind: 'session', subject: family.id, version: 0, expiresAt: ACCESS_TOKENS_END, createdAt: NOW + 5 }])
    }
  },
  {
    name: 'families: listByUser lists the live families of one user only',
    async run (open) {
      const store = await open()
      const user = newUser()
      await store.users.insert(user)
      const live = [newFamily(user.id, { createdAt: NOW }), newFamily(user.id, { createdAt: NOW + 1 })]
      const revoked = newFamily(user.id)
      const expiring = newFamily(user.id, { expiresAt: NOW + 50 })
      for (const family of [...live, revoked, expiring]) await store.families.create(family, newToken())
      await store.families.create(newFamily(newUser().id), newToken())
      await store.families.revoke(revoked.id, NOW, ACCESS_TOKENS_END)
      const listed = await store.families.listByUser(user.id, NOW + 50)
      assert.deepEqual(listed.map((family) => family.id).sort(), live.map((family) => family.id).sort())
      assert.equal((await store.families.listByUser(user.id, NOW + 49)).length, 3)
      assert.deepEqual(await store.families.listByUser(newUser().id, NOW), [])
    }
  },
  {
    name: 'families: prune deletes exactly the tokens and families past their expiresAt',
    async run (open) {
      const store = await open()
      const user = newUser()
      await store.users.insert(user)
      const long = newFamily(user.id, { expiresAt: NOW + 100 })
      const first = newToken(NOW + 10)
      const second = newToken(NOW + 20)
      await store.families.create(long, first)
      assert.equal(await store.families.rotate(long.id, first.hash, second, NOW + 5), true)
      const short = newFamily(user.id, { expiresAt: NOW + 50 })
      const shortToken = newToken(NOW + 50)
      await store.families.create(short, shortToken)
      assert.equal(await store.families.prune(NOW + 9), 0)
      assert.equal(await store.families.prune(NOW + 10), 1)
      assert.equal(await store.families.findByToken(first.hash), undefined)
      assert.equal((await store.families.findByToken(second.hash))?.family.id, long.id)
      assert.equal(await store.families.prune(NOW + 10), 0)
      assert.equal(await store.families.prune(NOW + 50), 3, 'the second token, the short family and its token')
      assert.equal(await store.families.findByToken(shortToken.hash), undefined)
      assert.deepEqual((await store.families.listByUser(user.id, NOW + 50)).map((family) => family.id), [long.id])
      assert.equal(await store.families.prune(NOW + 100), 1)
      assert.deepEqual(await store.families.listByUser(user.id, NOW), [])
    }
  },
  {
    name: 'families: authMethods are kept as given, returned by findByToken and listByUser, through rotations, as copies',
    async run (open) {
      const store = await open()
      const { family, token } = await session(store, { authMethods: ['pwd', 'otp', 'mfa'] })
      const other = newFamily(family.userId, { authMethods: ['hwk', 'user', 'mfa'], createdAt: NOW + 1 })
      await store.families.create(other, newToken())
      other.authMethods.push('changed later')
      assert.deepEqual((await store.families.findByToken(token.hash))?.family.authMethods, ['pwd', 'otp', 'mfa'])
      const successor = newToken()
      assert.equal(await store.families.rotate(family.id, token.hash, successor, NOW + 1), true)
      const found = await store.families.findByToken(successor.hash)
      assert.deepEqual(found?.family.authMethods, ['pwd', 'otp', 'mfa'], 'a rotation keeps them')
      found?.family.authMethods.push('forged')
      const listed = await store.families.listByUser(family.userId, NOW)
      assert.deepEqual(listed.map((listedFamily) => listedFamily.authMethods), [['pwd', 'otp', 'mfa'], ['hwk', 'user', 'mfa']])
      listed[0].authMethods.push('forged')
      assert.deepEqual((await store.families.findByToken(successor.hash))?.family.authMethods, ['pwd', 'otp', 'mfa'], 'results are copies')
    }
  },
  {
    name: 'families: the store keeps its own copies: changing what came out changes nothing stored',
    async run (open) {
      const store = await open()
      const { family, token } = await session(store)
      const found = await store.families.findByToken(token.hash)
      assert.ok(found !== undefined)
      found.family.revokedAt = NOW
      found.family.currentTokenHash = 'x'
      found.token.expiresAt = 0
      const [listed] = await store.families.listByUser(family.userId, NOW)
      listed.revokedAt = NOW
      assert.deepEqual(await store.families.findByToken(token.hash), {
        family: { ...family, currentTokenHash: token.hash, previousTokenHash: null, rotatedAt: null, revokedAt: null },
        token
      })
    }
  }
]
