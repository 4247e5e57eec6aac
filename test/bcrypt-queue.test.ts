import t from 'tap'
import { LoginBusyError } from '../lib/errors.js'
import { ConcurrencyLimit } from '../lib/accounts/concurrency-limit.js'
import { BcryptPasswordHasher, DEFAULT_BCRYPT_QUEUE } from '../lib/accounts/password-hasher.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { loginFixture, outcomes, PASSWORD } from './helpers/login-fixture.js'

// The bcrypt queue is bounded: past it, a password check is refused at once with a 503
// and Retry-After instead of waiting behind everyone else's.

t.test('a full queue refuses the next task at once with LoginBusyError (503, Retry-After 1)', async (t) => {
  const limit = new ConcurrencyLimit(1, 1)
  let finish = (): void => {}
  const running = limit.run(async () => await new Promise<void>((resolve) => { finish = resolve }))
  const queued = limit.run(async () => 'queued')
  t.equal(limit.queued, 1)
  await t.rejects(limit.run(async () => 'refused'), { code: 'FST_TOKEN_AUTH_BUSY', statusCode: 503, headers: { 'retry-after': '1' } })
  finish()
  await running
  t.equal(await queued, 'queued')
  t.equal(await limit.run(async () => 'room again'), 'room again')
  t.equal(DEFAULT_BCRYPT_QUEUE, 64)
  t.throws(() => new BcryptPasswordHasher(10, 1, -1), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /bcryptQueue must be a non-negative integer/ })
})

t.test('logins past the bcrypt queue get 503 with Retry-After, and their reservations are taken back', async (t) => {
  const hasher = new BcryptPasswordHasher(10, 1, 1)
  const fixture = await loginFixture({ hasher })
  for (const name of ['alice', 'bob']) {
    await fixture.store.users.update(`id-${name}`, { set: { passwordHash: await hasher.hash(PASSWORD) } })
  }
  const results = await outcomes([
    fixture.attempt('alice', PASSWORD, '192.0.2.1'),
    fixture.attempt('bob', PASSWORD, '192.0.2.2'),
    fixture.attempt('alice', 'wrong', '192.0.2.3')
  ])
  t.same(results, ['ok', 'ok', 'FST_TOKEN_AUTH_BUSY'])
  const counters = await fixture.counters('account:alice', 'address:192.0.2.3')
  t.equal(counters['account:alice'].count, 0, 'no password was checked, so nothing was counted')
  t.equal(counters['address:192.0.2.3'].count, 0)
})

t.test('a busy queue when the dummy hash is first made is not remembered', async (t) => {
  const hasher = new BcryptPasswordHasher(10, 1, 0)
  const busy = hasher.hash('occupies the only thread')
  await t.rejects(hasher.dummyHash(), LoginBusyError)
  await busy
  t.match(await hasher.dummyHash(), /^\$2b\$10\$/, 'the next call makes it')
})

t.test('a password check that fails otherwise stays counted', async (t) => {
  const hasher = new FastTestHasher()
  hasher.verify = async () => { throw new Error('the hasher broke') }
  const fixture = await loginFixture({ hasher })
  await t.rejects(fixture.attempt('alice', PASSWORD), { message: 'the hasher broke' })
  t.equal((await fixture.counters('account:alice'))['account:alice'].count, 1)
})
