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

export const secondFactorDeletionCases: StoreContractCase[] = [
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

      // Nothing comes back for the deleted user.
      assert.equal(await store.totp.stage(newTotpFactor(deleted.user.id)), false)
      assert.equal(await store.passkeys.insert(newPasskey(deleted.user.id), 5), false)
    }
  }
]
