import t from 'tap'
import { LoginBusyError, withRetryAfter } from '../lib/errors.js'
import { LoginFailedError } from '../lib/login/login-failed-error.js'
import type { PasswordHasher } from '../lib/accounts/password-hasher.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { loginFixture, PASSWORD } from './helpers/login-fixture.js'

// The login itself: unknown users, wrong passwords and disabled users fail alike after the
// same work; hashes are upgraded on login; a password change is confirmed like a login.

const FAILED = 'FST_TOKEN_AUTH_INVALID_CREDENTIALS'

/** Treats every hash it did not make itself as made at a lower cost. */
class UpgradingHasher implements PasswordHasher {
  readonly cost = 10
  readonly #inner = new FastTestHasher()
  readonly #made = new Set<string>()
  async hash (password: string): Promise<string> {
    const hash = await this.#inner.hash(password)
    this.#made.add(hash)
    return hash
  }

  async verify (password: string, hash: string): Promise<boolean> { return await this.#inner.verify(password, hash) }
  needsRehash (hash: string): boolean { return !this.#made.has(hash) }
  async dummyHash (): Promise<string> { return await this.#inner.dummyHash() }
}

t.test('a login by any spelling of the username gives the user and a device token', async (t) => {
  const fixture = await loginFixture()
  const result = await fixture.attempt('ＡＬＩＣＥ', PASSWORD)
  t.equal(result.user.id, 'id-alice')
  t.match(result.deviceToken, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
})

t.test('unknown users, wrong passwords and disabled users fail alike, after one bcrypt verification each', async (t) => {
  const hasher = new FastTestHasher()
  const fixture = await loginFixture({ hasher })
  await fixture.store.users.update('id-bob', { set: { disabled: true } })
  const cases = [['ghost', PASSWORD, 'unknown_user'], ['alice', 'wrong', 'wrong_password'], ['bob', PASSWORD, 'disabled_user']] as const
  for (const [username, password, reason] of cases) {
    const before = hasher.verifications
    const error = await fixture.attempt(username, password).catch((error: unknown) => error)
    t.ok(error instanceof LoginFailedError, reason)
    t.match(error, { code: FAILED, statusCode: 401, reason, message: 'Invalid username or password' })
    t.equal(hasher.verifications, before + 1, `${reason}: one verification`)
  }
})

t.test('a password bcrypt cannot take whole is simply wrong, and costs no bcrypt work for anyone', async (t) => {
  const hasher = new FastTestHasher()
  const fixture = await loginFixture({ hasher })
  for (const [username, password] of [['alice', 'x'.repeat(73)], ['ghost', 'x'.repeat(73)], ['alice', `${PASSWORD}\0`], ['alice', '']]) {
    await t.rejects(fixture.attempt(username, password), { code: FAILED, reason: 'unusable_password' })
  }
  t.equal(hasher.verifications, 0)
  t.equal((await fixture.counters('account:alice'))['account:alice'].count, 3, 'each still used up a reservation')
})

t.test('a hash made at a lower cost is replaced on login, only while it is still the stored one', async (t) => {
  const hasher = new UpgradingHasher()
  const fixture = await loginFixture({ hasher })
  const before = (await fixture.store.users.findById('id-alice'))?.passwordHash as string
  const { user } = await fixture.attempt('alice', PASSWORD)
  t.not(user.passwordHash, before, 'the login returns the user with the new hash')
  t.equal((await fixture.store.users.findById('id-alice'))?.passwordHash, user.passwordHash, 'and stored it')
  t.equal((await fixture.attempt('alice', PASSWORD)).user.passwordHash, user.passwordHash, 'a current hash is kept')

  const raced = await loginFixture({ hasher: new UpgradingHasher(), users: (users) => ({ ...users, update: async () => undefined }) })
  const old = raced.users.alice.passwordHash
  t.equal((await raced.attempt('alice', PASSWORD)).user.passwordHash, old, 'a password changed meanwhile wins over the rehash')
})

t.test('a busy hasher skips the rehash but not the login; another hashing failure fails it', async (t) => {
  const busy = new UpgradingHasher()
  busy.hash = async () => { throw withRetryAfter(new LoginBusyError(), 1) }
  const fixture = await loginFixture({ hasher: busy })
  t.equal((await fixture.attempt('alice', PASSWORD)).user.passwordHash, fixture.users.alice.passwordHash)

  const broken = new UpgradingHasher()
  broken.hash = async () => { throw new Error('no hash today') }
  await t.rejects((await loginFixture({ hasher: broken })).attempt('alice', PASSWORD), { message: 'no hash today' })
})

t.test('confirmPassword checks the stored hash of a signed-in user, throttled like a login', async (t) => {
  const fixture = await loginFixture({ options: { throttle: { maxAccountFailures: 2 } } })
  const { user, deviceToken } = await fixture.attempt('alice', PASSWORD)
  t.equal((await fixture.login.confirmPassword(user, PASSWORD, '192.0.2.1')).id, 'id-alice')
  await fixture.store.users.update(user.id, { set: { passwordHash: await new FastTestHasher().hash('a newer password') } })
  await t.rejects(fixture.login.confirmPassword(user, PASSWORD, '192.0.2.1'), { code: FAILED, reason: 'wrong_password' }, 'a hash replaced since the user was read does not pass')
  await t.rejects(fixture.login.confirmPassword(user, 'guess', '192.0.2.1'), { code: FAILED })
  await t.rejects(fixture.login.confirmPassword(user, 'a newer password', '192.0.2.1'), { code: 'FST_TOKEN_AUTH_LOGIN_THROTTLED' }, 'the account key is locked')
  t.equal((await fixture.login.confirmPassword(user, 'a newer password', '192.0.2.1', deviceToken)).id, 'id-alice', 'a device token is honoured here too')
  await fixture.store.users.delete(user.id, { now: 0, expiresAt: 0 })
  await t.rejects(fixture.login.confirmPassword(user, 'a newer password', '192.0.2.1', deviceToken), { code: FAILED, reason: 'unknown_user' })
})
