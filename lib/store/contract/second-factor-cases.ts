import assert from 'node:assert/strict'
import type { AuthStore, UserRecord } from '../ports.js'
import { newChallenge, newCodeHashes, newPasskey, newTotpFactor, newUser, NOW, twoConnections, type StoreContractCase } from './case.js'

/** A user with a confirmed TOTP factor, recovery codes, two passkeys and a challenge. */
async function userWithEverything (store: AuthStore): Promise<{ user: UserRecord, codes: string[], passkeyIds: string[], challengeHash: string }> {
  const user = newUser()
  await store.users.insert(user)
  const factor = newTotpFactor(user.id)
  assert.equal(await store.totp.stage(factor), true)
  assert.equal(await store.totp.confirm(user.id, factor.encryptedSecret, 1, NOW), true)
  const codes = newCodeHashes()
  await store.recoveryCodes.replace(user.id, codes, NOW)
  const passkeys = [newPasskey(user.id), newPasskey(user.id)]
  for (const passkey of passkeys) assert.equal(await store.passkeys.insert(passkey, 5), true)
  const challenge = newChallenge(user.id)
  await store.challenges.insert(challenge)
  return { user, codes, passkeyIds: passkeys.map((passkey) => passkey.id), challengeHash: challenge.hash }
}

export const secondFactorCases: StoreContractCase[] = [
  {
    name: 'users: deleting a user deletes their TOTP factor, recovery codes, passkeys and challenges, and only theirs',
    async run (open) {
      const [store, other] = await twoConnections(open)
      const deleted = await userWithEverything(store)
      const kept = await userWithEverything(store)
      const anonymous = newChallenge(null, { purpose: 'passkey_login' })
      await store.challenges.insert(anonymous)
      assert.equal(await other.users.delete(deleted.user.id, { now: NOW, expiresAt: NOW + 600 }), true)
      assert.equal(await store.totp.find(deleted.user.id), undefined)
      assert.equal(await store.recoveryCodes.countUnused(deleted.user.id), 0)
      assert.equal(await store.recoveryCodes.use(deleted.user.id, deleted.codes[0], NOW), false)
      assert.deepEqual(await store.passkeys.listByUser(deleted.user.id), [])
      for (const id of deleted.passkeyIds) assert.equal(await store.passkeys.findById(id), undefined)
      assert.equal(await store.challenges.find(deleted.challengeHash, 'mfa_login', NOW), undefined)

      assert.equal((await store.totp.find(kept.user.id))?.confirmedAt, NOW)
      assert.equal(await store.recoveryCodes.countUnused(kept.user.id), 10)
      assert.equal((await store.passkeys.listByUser(kept.user.id)).length, 2)
      assert.equal((await store.challenges.find(kept.challengeHash, 'mfa_login', NOW))?.userId, kept.user.id)
      assert.deepEqual(await store.challenges.find(anonymous.hash, 'passkey_login', NOW), anonymous, 'a challenge of no user stays')

      // Nothing comes back for the deleted user: nothing would ever delete it again.
      assert.equal(await store.totp.stage(newTotpFactor(deleted.user.id)), false)
      await store.recoveryCodes.replace(deleted.user.id, newCodeHashes(), NOW)
      assert.equal(await store.recoveryCodes.countUnused(deleted.user.id), 0)
      assert.equal(await store.passkeys.insert(newPasskey(deleted.user.id), 5), false)
    }
  },
  {
    name: 'second factors: a key with a NUL matches nothing, on every database, and is no error',
    async run (open) {
      const store = await open()
      const { user, codes, passkeyIds: [passkeyId], challengeHash } = await userWithEverything(store)
      const nul = `${user.id}\u0000`
      const factor = await store.totp.find(user.id)
      assert.ok(factor !== undefined)
      assert.equal(await store.totp.stage(newTotpFactor(nul)), false)
      assert.equal(await store.totp.find(nul), undefined)
      assert.equal(await store.totp.confirm(nul, factor.encryptedSecret, 5, NOW), false)
      assert.equal(await store.totp.useStep(user.id, `${factor.encryptedSecret}\u0000`, 5), false)
      assert.equal(await store.totp.remove(nul), false)
      await store.recoveryCodes.replace(nul, newCodeHashes(), NOW)
      assert.equal(await store.recoveryCodes.use(user.id, `${codes[0]}\u0000`, NOW), false)
      assert.equal(await store.recoveryCodes.countUnused(nul), 0)
      assert.equal(await store.recoveryCodes.removeAll(nul), 0)
      assert.equal(await store.passkeys.insert(newPasskey(nul), 5), false)
      assert.deepEqual(await store.passkeys.listByUser(nul), [])
      assert.equal(await store.passkeys.rename(nul, passkeyId, 'x'), false)
      assert.equal(await store.passkeys.remove(nul, passkeyId), false)
      assert.equal(await store.challenges.find(`${challengeHash}\u0000`, 'mfa_login', NOW), undefined)
      assert.deepEqual(await store.totp.find(user.id), factor, 'nothing else changed')
      assert.equal(await store.recoveryCodes.countUnused(user.id), 10)
      assert.equal((await store.passkeys.listByUser(user.id)).length, 2)
    }
  }
]
