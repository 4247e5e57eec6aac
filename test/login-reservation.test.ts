import t from 'tap'
import { LoginThrottledError } from '../lib/errors.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { GatedHasher } from './helpers/gated-hasher.js'
import { loginFixture, outcomes, PASSWORD, settle } from './helpers/login-fixture.js'

// Every attempt is counted in the store before any lookup or password work, on the
// account and the address together; only a success takes its own count back.

const FAILED = 'FST_TOKEN_AUTH_INVALID_CREDENTIALS'
const THROTTLED = 'FST_TOKEN_AUTH_LOGIN_THROTTLED'
const WIDE_OPEN = { maxInFlightPerAccount: 1000, maxInFlightPerAddress: 1000 }

t.test('200 concurrent guesses at one account from one address: 5 reach the hasher, and the right password after them gets 429', async (t) => {
  const hasher = new FastTestHasher()
  const fixture = await loginFixture({ hasher, options: WIDE_OPEN })
  const attempts = Array.from({ length: 200 }, async (_, i) => await fixture.attempt('alice', i === 199 ? PASSWORD : `guess ${i}`))
  const results = await outcomes(attempts)
  t.same(results.slice(0, 5), Array(5).fill(FAILED), 'the first five are checked and fail')
  t.same(results.slice(5), Array(195).fill(THROTTLED), 'every later one, the right password included, is refused')
  t.equal(hasher.verifications, 5, 'only the reserved attempts cost bcrypt work')
  t.equal(fixture.lookups, 5, 'a refused attempt does not even look the user up')
  const counters = await fixture.counters('account:alice', 'address:192.0.2.1')
  t.equal(counters['account:alice'].count, 5, 'the account counter reads exactly the reservations made')
  t.equal(counters['address:192.0.2.1'].count, 5, 'so does the address counter')
  const refused = await Promise.allSettled([fixture.attempt('alice', PASSWORD)])
  t.ok(refused[0].status === 'rejected' && refused[0].reason instanceof LoginThrottledError)
  t.equal((refused[0] as PromiseRejectedResult).reason.headers['retry-after'], '30', 'Retry-After says when the lockout ends')
})

t.test('an attempt is reserved in the store before the user is looked up', async (t) => {
  const fixture = await loginFixture()
  const order: string[] = []
  const findByUsername = fixture.store.users.findByUsername
  fixture.store.users.findByUsername = async (username) => { order.push(`lookup after ${fixture.updates.length} update(s)`); return await findByUsername(username) }
  await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  t.same(order, ['lookup after 1 update(s)'])
  t.same(fixture.updates, [['account:alice', 'address:192.0.2.1']], 'one update reserved both keys together')
  t.equal(fixture.lookups, 1)
})

t.test('a refused attempt counts nothing, on either key', async (t) => {
  const fixture = await loginFixture({ options: { throttle: { maxAccountFailures: 2 } } })
  for (let i = 0; i < 2; i++) await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  for (let i = 0; i < 3; i++) await t.rejects(fixture.attempt('alice', 'wrong'), { code: THROTTLED })
  const counters = await fixture.counters('account:alice', 'address:192.0.2.1')
  t.equal(counters['account:alice'].count, 2)
  t.equal(counters['address:192.0.2.1'].count, 2)
})

t.test('a locked address reserves nothing on the account it tried (both keys or neither)', async (t) => {
  const fixture = await loginFixture({ options: { throttle: { maxAddressFailures: 3 } } })
  for (const name of ['carol', 'dave', 'erin']) await t.rejects(fixture.attempt(name, 'guess', '198.51.100.7'), { code: FAILED })
  await t.rejects(fixture.attempt('alice', PASSWORD, '198.51.100.7'), { code: THROTTLED, headers: { 'retry-after': '30' } })
  t.same(await fixture.counters('account:alice'), {}, 'alice was never counted')
  t.equal((await fixture.attempt('alice', PASSWORD, '198.51.100.8')).user.id, 'id-alice', 'another address is not affected')
})

t.test('a success takes back its own count on the account and the address, and nobody else\'s', async (t) => {
  const fixture = await loginFixture()
  for (let i = 0; i < 3; i++) await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  await fixture.attempt('bob', PASSWORD)
  const counters = await fixture.counters('account:alice', 'account:bob', 'address:192.0.2.1')
  t.equal(counters['address:192.0.2.1'].count, 3, 'the address keeps its three failures: a success does not launder them')
  t.equal(counters['account:alice'].count, 3)
  t.equal(counters['account:bob'].count, 0)
  await fixture.attempt('alice', PASSWORD)
  t.equal((await fixture.counters('account:alice'))['account:alice'].count, 3, 'alice\'s own success leaves her earlier failures counted')
})

t.test('a success at the limit lifts the lock its own attempt set', async (t) => {
  const fixture = await loginFixture()
  for (let i = 0; i < 4; i++) await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  await fixture.attempt('alice', PASSWORD)
  t.equal((await fixture.counters('account:alice'))['account:alice'].lockedUntil, 0)
  await fixture.attempt('alice', PASSWORD)
  await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED }, 'the fifth failure is still counted')
  await t.rejects(fixture.attempt('alice', PASSWORD), { code: THROTTLED }, 'and locks')
})

t.test('a success after a later attempt was counted leaves that attempt\'s lock in place', async (t) => {
  const hasher = new GatedHasher()
  const fixture = await loginFixture({ hasher, options: { ...WIDE_OPEN, throttle: { maxAccountFailures: 2 } } })
  const success = fixture.attempt('alice', PASSWORD)
  const failure = outcomes([fixture.attempt('alice', 'wrong')])
  await settle()
  hasher.open()
  t.equal((await success).user.id, 'id-alice')
  t.same(await failure, [FAILED])
  const counter = (await fixture.counters('account:alice'))['account:alice']
  t.equal(counter.count, 1, 'the failure stays counted')
  t.ok(counter.lockedUntil > 0, 'the lock the second attempt set was not the success\'s to lift')
})

t.test('a success after its window restarted takes nothing back from the new window', async (t) => {
  const hasher = new GatedHasher()
  const fixture = await loginFixture({ hasher, options: WIDE_OPEN })
  const slow = fixture.attempt('alice', PASSWORD)
  await settle()
  fixture.clock.advance(15 * 60)
  const fresh = outcomes([fixture.attempt('alice', 'wrong')])
  await settle()
  hasher.open()
  await slow
  t.same(await fresh, [FAILED])
  t.equal((await fixture.counters('account:alice'))['account:alice'].count, 1, 'the new window keeps its one failure')
})
