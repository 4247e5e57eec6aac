import assert from 'node:assert/strict'
import { EmailTakenError, UsernameTakenError } from '../../errors.js'
import type { UserRecord } from '../ports.js'
import { concurrently, newFamily, newToken, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

const SESSION_END = NOW + 600

/** Usernames in byte order of their UTF-8 (code point order), non-ASCII ones after every ASCII one. */
const BYTE_ORDERED_USERNAMES = ['0', 'a', 'a b', 'b!c', 'b%c', 'b\\c', 'b_c', 'bxc', 'z', 'zoë', 'ångström', 'émile', 'ω', '日本', '😀']
const LISTED_EMAILS: Record<string, string> = { a: 'a%b@example.com', bxc: 'mail_x@example.org', zoë: 'zoe@example.net' }

const usernames = (users: UserRecord[]): string[] => users.map((user) => user.username)

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
    name: 'users: an email belongs to one user: inserting or updating to a taken email fails with EmailTakenError and changes nothing',
    async run (open) {
      const store = await open()
      const first = newUser({ email: 'a@example.com' })
      await store.users.insert(first)
      const second = newUser({ email: first.email })
      await assert.rejects(store.users.insert(second), EmailTakenError)
      assert.equal(await store.users.findById(second.id), undefined)
      await assert.rejects(store.users.insert(newUser({ username: first.username, email: 'fresh@example.com' })), UsernameTakenError, 'a taken username is told apart from a taken email')
      assert.equal(await store.users.findByEmail('fresh@example.com'), undefined)
      const third = newUser({ email: 'c@example.com' })
      await store.users.insert(third)
      for (const noEmail of [newUser(), newUser(), newUser()]) await store.users.insert(noEmail)
      await assert.rejects(store.users.update(third.id, { set: { email: first.email, roles: ['admin'] } }), EmailTakenError)
      await assert.rejects(store.users.update(third.id, { set: { email: first.email }, revokeTokens: { now: NOW, expiresAt: SESSION_END } }), EmailTakenError)
      assert.deepEqual(await store.users.findById(third.id), third, 'nothing of the failed updates was applied')
      assert.deepEqual(await store.revocations.list({ afterId: 0 }), [], 'nor revoked')
      assert.deepEqual(await store.users.update(first.id, { set: { email: first.email } }), first, 'a user keeps their own email')
      assert.deepEqual(await store.users.update(first.id, { set: { email: null } }), { ...first, email: null })
      assert.deepEqual(await store.users.update(third.id, { set: { email: 'a@example.com' } }), { ...third, email: 'a@example.com' }, 'a released email can be taken')
      assert.equal(await store.users.delete(third.id, { now: NOW, expiresAt: SESSION_END }), true)
      const fourth = newUser({ email: 'a@example.com' })
      await store.users.insert(fourth)
      assert.deepEqual(await store.users.findByEmail('a@example.com'), fourth, 'a deleted user\'s email can be taken')
    }
  },
  {
    name: 'users: ten concurrent inserts of one email on two connections: one wins, the others get EmailTakenError',
    async run (open) {
      const stores = await twoConnections(open)
      const candidates = Array.from({ length: 10 }, () => newUser({ email: 'shared@example.com' }))
      const { values, errors } = await concurrently(10, async (index) => { await stores[index % 2].users.insert(candidates[index]); return candidates[index] })
      assert.equal(values.length, 1)
      assert.equal(errors.length, 9)
      for (const error of errors) assert.ok(error instanceof EmailTakenError, String(error))
      assert.deepEqual(await stores[1].users.findByEmail('shared@example.com'), values[0])
    }
  },
  {
    name: 'users: findByEmail finds the user with exactly that stored email, and returns a copy',
    async run (open) {
      const store = await open()
      const user = newUser({ email: 'alice@example.com', roles: ['a'] })
      await store.users.insert(user)
      await store.users.insert(newUser({ email: 'alicé@example.com' }))
      assert.deepEqual(await store.users.findByEmail('alice@example.com'), user)
      for (const other of ['ALICE@example.com', 'alice@example', 'alice@example.co']) assert.equal(await store.users.findByEmail(other), undefined, other)
      const found = await store.users.findByEmail('alice@example.com')
      found?.roles.push('root')
      assert.deepEqual(await store.users.findByEmail('alice@example.com'), user)
      await store.users.update(user.id, { set: { email: 'new@example.com' } })
      assert.equal(await store.users.findByEmail('alice@example.com'), undefined)
      assert.equal((await store.users.findByEmail('new@example.com'))?.id, user.id)
    }
  },
  {
    name: 'users: expect.email is a compare-and-set, no email (null) included',
    async run (open) {
      const stores = await twoConnections(open)
      const user = newUser()
      await stores[0].users.insert(user)
      assert.equal(await stores[0].users.update(user.id, { set: { email: 'x@example.com' }, expect: { email: 'y@example.com' } }), undefined)
      assert.equal((await stores[0].users.update(user.id, { set: { email: 'x@example.com' }, expect: { email: null } }))?.email, 'x@example.com')
      assert.equal(await stores[0].users.update(user.id, { set: { roles: ['a'] }, expect: { email: null } }), undefined)
      const { values, errors } = await concurrently(10, async (index) => await stores[index % 2].users.update(user.id, { set: { email: `${index}@example.com` }, expect: { email: 'x@example.com' } }))
      assert.deepEqual(errors, [])
      const winners = values.filter((value) => value !== undefined)
      assert.equal(winners.length, 1)
      assert.deepEqual(await stores[1].users.findById(user.id), winners[0])
      assert.deepEqual(await stores[1].users.update(user.id, { set: { email: null }, expect: { email: winners[0]?.email } }), { ...user, email: null })
    }
  },
  {
    name: 'users: expect.roles is a compare-and-set of the roles, in their order and case, between connections',
    async run (open) {
      const stores = await twoConnections(open)
      const user = newUser({ roles: ['admin', 'staff'] })
      await stores[0].users.insert(user)
      for (const stale of [['Admin', 'staff'], ['staff', 'admin'], ['admin'], []]) {
        assert.equal(await stores[1].users.update(user.id, { set: { roles: ['x'] }, expect: { roles: stale } }), undefined, JSON.stringify(stale))
      }
      const { values, errors } = await concurrently(10, async (index) => await stores[index % 2].users.update(user.id, { set: { roles: ['admin', 'staff', `r${index}`] }, expect: { roles: ['admin', 'staff'] } }))
      assert.deepEqual(errors, [])
      const winners = values.filter((value) => value !== undefined)
      assert.equal(winners.length, 1, 'one write from the same read lands; the others find the roles changed')
      assert.deepEqual(await stores[0].users.findById(user.id), winners[0])
    }
  },
  {
    name: 'users and families: a key with a NUL matches nothing, on every database, and is no error',
    async run (open) {
      const store = await open()
      const user = newUser()
      await store.users.insert(user)
      await store.families.create(newFamily(user.id), newToken())
      const nul = `${user.id}\u0000`
      assert.equal(await store.users.findById(nul), undefined)
      assert.equal(await store.users.update(nul, { set: { roles: ['admin'] } }), undefined)
      assert.equal(await store.users.delete(nul, { now: NOW, expiresAt: NOW + 60 }), false)
      assert.deepEqual(await store.users.list({ search: '\u0000', limit: 10 }), [])
      assert.deepEqual(await store.families.listByUser(nul, NOW), [])
      assert.equal(await store.families.revoke('x\u0000', NOW, NOW + 60), false)
      assert.equal(await store.families.rotate('x\u0000', 'a'.repeat(64), newToken(), NOW), false)
      assert.equal(await store.families.findByToken(`${'a'.repeat(63)}\u0000`), undefined)
      assert.equal((await store.families.listByUser(user.id, NOW)).length, 1, 'nothing else changed')
      assert.deepEqual((await store.users.findById(user.id))?.roles, [])
    }
  },
  {
    name: 'users: emailVerifiedAt is kept, changed and cleared',
    async run (open) {
      const store = await open()
      const user = newUser({ email: 'v@example.com', emailVerifiedAt: NOW - 5 })
      await store.users.insert(user)
      assert.deepEqual(await store.users.findById(user.id), user)
      assert.deepEqual(await store.users.update(user.id, { set: { emailVerifiedAt: NOW } }), { ...user, emailVerifiedAt: NOW })
      assert.deepEqual(await store.users.update(user.id, { set: { roles: ['a'] } }), { ...user, emailVerifiedAt: NOW, roles: ['a'] }, 'kept by other changes')
      assert.deepEqual(await store.users.update(user.id, { set: { email: 'w@example.com', emailVerifiedAt: null } }), { ...user, email: 'w@example.com', emailVerifiedAt: null, roles: ['a'] })
    }
  },
  {
    name: 'users: list pages through every user once, by username in byte order, non-ASCII included',
    async run (open) {
      const store = await open()
      const shuffled = [...BYTE_ORDERED_USERNAMES].sort(() => Math.random() - 0.5)
      for (const username of shuffled) await store.users.insert(newUser({ username, email: LISTED_EMAILS[username] ?? null }))
      const all = await store.users.list({ limit: 1000 })
      assert.deepEqual(usernames(all), BYTE_ORDERED_USERNAMES)
      assert.deepEqual(all[1], await store.users.findByUsername('a'), 'whole users')
      const paged: string[] = []
      for (let page = await store.users.list({ limit: 4 }); page.length > 0; page = await store.users.list({ after: page[page.length - 1].username, limit: 4 })) {
        assert.ok(page.length <= 4)
        paged.push(...usernames(page))
      }
      assert.deepEqual(paged, BYTE_ORDERED_USERNAMES, 'each page starts after the last of the previous one')
      assert.deepEqual(usernames(await store.users.list({ after: 'b', limit: 3 })), ['b!c', 'b%c', 'b\\c'], 'after need not be a username')
      assert.deepEqual(usernames(await store.users.list({ after: 'zz', limit: 1000 })), BYTE_ORDERED_USERNAMES.slice(10))
      assert.deepEqual(await store.users.list({ after: '😀', limit: 10 }), [])
      all[0].roles.push('root')
      assert.deepEqual((await store.users.list({ limit: 1 }))[0].roles, [], 'results are copies')
    }
  },
  {
    name: 'users: list searches usernames and emails for the text literally: % _ ! and \\ are not wildcards',
    async run (open) {
      const store = await open()
      for (const username of BYTE_ORDERED_USERNAMES) await store.users.insert(newUser({ username, email: LISTED_EMAILS[username] ?? null }))
      const search = async (text: string, limit = 1000, after?: string): Promise<string[]> => usernames(await store.users.list({ search: text, limit, after }))
      assert.deepEqual(await search('_'), ['b_c', 'bxc'], 'bxc by its email mail_x@')
      assert.deepEqual(await search('%'), ['a', 'b%c'], 'a by its email a%b@')
      assert.deepEqual(await search('b_c'), ['b_c'])
      assert.deepEqual(await search('b%c'), ['b%c'])
      assert.deepEqual(await search('!'), ['b!c'])
      assert.deepEqual(await search('\\'), ['b\\c'])
      assert.deepEqual(await search('example.org'), ['bxc'], 'the email alone matches')
      assert.deepEqual(await search('ström'), ['ångström'])
      assert.deepEqual(await search('zo'), ['zoë'], 'zoe@ too, once')
      assert.deepEqual(await search('b', 3), ['a', 'a b', 'b!c'], 'limit applies to matches')
      assert.deepEqual(await search('b', 3, 'b%c'), ['b\\c', 'b_c', 'bxc'])
      assert.deepEqual(await search('nobody'), [])
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
