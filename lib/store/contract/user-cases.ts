import assert from 'node:assert/strict'
import { UsernameTakenError } from '../../errors.js'
import { concurrently, newFamily, newToken, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

const SESSION_END = NOW + 600

export const userCases: StoreContractCase[] = [
  {
    name: 'users: an inserted user is found by id and by username, exactly as inserted',
    async run (open) {
      const store = await open()
      const user = newUser({ email: 'a@example.com', roles: ['admin', 'editor'], tokenVersion: 3 })
      await store.users.insert(user)
      await store.users.insert(newUser())
      assert.deepEqual(await store.users.findById(user.id), user)
      assert.deepEqual(await store.users.findByUsername(user.username), user)
      assert.equal(await store.users.findById('00000000-0000-4000-8000-000000000000'), undefined)
      assert.equal(await store.users.findByUsername('nobody'), undefined)
    }
  },
  {
    name: 'migrate may be called again, from another connection, and keeps the data',
    async run (open) {
      const [store, other] = await twoConnections(open)
      const user = newUser()
      await store.users.insert(user)
      await store.migrate()
      await other.migrate()
      assert.deepEqual(await other.users.findById(user.id), user)
    }
  },
  {
    name: 'users: inserting a taken username fails with UsernameTakenError and changes nothing',
    async run (open) {
      const store = await open()
      const first = newUser()
      await store.users.insert(first)
      const second = newUser({ username: first.username })
      await assert.rejects(store.users.insert(second), UsernameTakenError)
      assert.equal(await store.users.findById(second.id), undefined)
      assert.deepEqual(await store.users.findByUsername(first.username), first)
    }
  },
  {
    name: 'users: ten concurrent inserts of one username on two connections: one wins, the others get UsernameTakenError',
    async run (open) {
      const stores = await twoConnections(open)
      const username = newUser().username
      const candidates = Array.from({ length: 10 }, () => newUser({ username }))
      const { values, errors } = await concurrently(10, async (index) => { await stores[index % 2].users.insert(candidates[index]); return candidates[index] })
      assert.equal(values.length, 1)
      assert.equal(errors.length, 9)
      for (const error of errors) assert.ok(error instanceof UsernameTakenError, String(error))
      assert.deepEqual(await stores[1].users.findByUsername(username), values[0])
    }
  },
  {
    name: 'users: update applies the changes and returns the user as it now is; an unknown id changes nothing',
    async run (open) {
      const store = await open()
      const user = newUser({ roles: ['a'] })
      await store.users.insert(user)
      const changed = { ...user, passwordHash: `${user.passwordHash.slice(0, -1)}x`, email: 'b@example.com', roles: ['b', 'c'], disabled: true }
      const set = { passwordHash: changed.passwordHash, email: changed.email, roles: changed.roles, disabled: true }
      assert.deepEqual(await store.users.update(user.id, { set }), changed)
      assert.deepEqual(await store.users.findById(user.id), changed)
      assert.deepEqual(await store.users.update(user.id, { set }), changed, 'an update to the same values still applies')
      assert.deepEqual(await store.users.update(user.id, { set: { email: null, profile: {} } }), { ...changed, email: null }, 'an empty profile change keeps the profile')
      assert.equal(await store.users.update('00000000-0000-4000-8000-000000000000', { set }), undefined)
      assert.deepEqual(await store.revocations.list({ afterId: 0 }), [], 'no revocation without revokeTokens')
    }
  },
  {
    name: 'users: update with expect is a compare-and-set: of ten concurrent conditional updates on two connections one wins',
    async run (open) {
      const stores = await twoConnections(open)
      const user = newUser()
      await stores[0].users.insert(user)
      const hashes = Array.from({ length: 10 }, (_, index) => `${user.passwordHash.slice(0, -2)}${String(index).padStart(2, '0')}`)
      const { values, errors } = await concurrently(10, async (index) => await stores[index % 2].users.update(user.id, { set: { passwordHash: hashes[index] }, expect: { passwordHash: user.passwordHash } }))
      assert.deepEqual(errors, [])
      const winners = values.filter((value) => value !== undefined)
      assert.equal(winners.length, 1)
      assert.deepEqual(await stores[1].users.findById(user.id), winners[0])
      assert.equal(await stores[0].users.update(user.id, { set: { disabled: true }, expect: { disabled: true } }), undefined)
      assert.equal((await stores[0].users.update(user.id, { set: { disabled: true }, expect: { disabled: false } }))?.disabled, true)
    }
  },
  {
    name: 'users: revokeTokens raises the version, revokes every family of the user and appends one user revocation at the new version',
    async run (open) {
      const [store, other] = await twoConnections(open)
      const user = newUser({ tokenVersion: 4 })
      const bystander = newUser()
      await store.users.insert(user)
      await store.users.insert(bystander)
      const tokens = [newToken(), newToken(), newToken()]
      const families = [newFamily(user.id, { tokenVersion: 4 }), newFamily(user.id, { tokenVersion: 4 }), newFamily(bystander.id)]
      for (const [index, family] of families.entries()) await store.families.create(family, tokens[index])

      assert.equal(await store.users.update(user.id, { set: { disabled: true }, expect: { disabled: true }, revokeTokens: { now: NOW + 1, expiresAt: SESSION_END } }), undefined)
      assert.deepEqual(await store.revocations.list({ afterId: 0 }), [], 'an expect that fails revokes nothing')
      assert.equal((await store.users.findById(user.id))?.tokenVersion, 4)

      const updated = await other.users.update(user.id, { set: { disabled: true }, revokeTokens: { now: NOW + 1, expiresAt: SESSION_END } })
      assert.deepEqual(updated, { ...user, disabled: true, tokenVersion: 5 })
      assert.deepEqual(await store.families.listByUser(user.id, NOW + 2), [])
      for (const index of [0, 1]) {
        assert.equal(await store.families.rotate(families[index].id, tokens[index].hash, newToken(), NOW + 2), false)
        assert.equal((await store.families.findByToken(tokens[index].hash))?.family.revokedAt, NOW + 1)
      }
      assert.equal(await store.families.rotate(families[2].id, tokens[2].hash, newToken(), NOW + 2), true, 'another user keeps their sessions')
      const revocations = await store.revocations.list({ afterId: 0 })
      assert.deepEqual(revocations.map(({ id, ...revocation }) => revocation), [{ kind: 'user', subject: user.id, version: 5, expiresAt: SESSION_END, createdAt: NOW + 1 }])
    }
  },
  {
    name: 'users: delete removes the user and their families and appends a user revocation at tokenVersion + 1',
    async run (open) {
      const [store, other] = await twoConnections(open)
      const user = newUser({ tokenVersion: 2 })
      await store.users.insert(user)
      const token = newToken()
      const family = newFamily(user.id, { tokenVersion: 2 })
      await store.families.create(family, token)
      const bystander = newUser()
      await store.users.insert(bystander)
      const kept = newToken()
      await store.families.create(newFamily(bystander.id), kept)
      assert.equal(await other.users.delete(user.id, { now: NOW + 1, expiresAt: SESSION_END }), true)
      assert.equal(await store.users.findById(user.id), undefined)
      assert.equal(await store.users.findByUsername(user.username), undefined)
      assert.equal(await store.families.findByToken(token.hash), undefined)
      assert.equal(await store.families.rotate(family.id, token.hash, newToken(), NOW + 2), false)
      assert.equal(await store.users.delete(user.id, { now: NOW + 2, expiresAt: SESSION_END }), false, 'a second delete finds no user')
      const revocations = await store.revocations.list({ afterId: 0 })
      assert.deepEqual(revocations.map(({ id, ...revocation }) => revocation), [{ kind: 'user', subject: user.id, version: 3, expiresAt: SESSION_END, createdAt: NOW + 1 }])
      await store.users.insert(newUser({ username: user.username }))
      assert.equal((await store.families.findByToken(kept.hash))?.family.userId, bystander.id, 'another user keeps their sessions')
    }
  },
  {
    name: 'users: the store keeps its own copies: changing what went in or came out changes nothing stored',
    async run (open) {
      const store = await open()
      const user = newUser({ roles: ['a'] })
      await store.users.insert(user)
      const kept = structuredClone(user)
      user.roles.push('root')
      user.disabled = true
      for (const found of [await store.users.findById(kept.id), await store.users.findByUsername(kept.username), await store.users.update(kept.id, { set: {} })]) {
        assert.ok(found !== undefined)
        found.roles.push('root')
        found.profile.tenant = 'x'
        found.tokenVersion = 99
      }
      const roles = ['b']
      await store.users.update(kept.id, { set: { roles } })
      roles.push('root')
      assert.deepEqual(await store.users.findById(kept.id), { ...kept, roles: ['b'] })
    }
  }
]
