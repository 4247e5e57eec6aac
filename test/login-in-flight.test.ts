import t from 'tap'
import { GatedHasher } from './helpers/gated-hasher.js'
import { loginFixture, outcomes, PASSWORD, settle } from './helpers/login-fixture.js'

// Attempts in progress on this instance are bounded per account and per address: the
// excess is refused at once, before any store call, and a flood at one account never
// queues another user's login behind it.

const THROTTLED = 'FST_TOKEN_AUTH_LOGIN_THROTTLED'

t.test('a third concurrent attempt at one account gets 429 with Retry-After 1 before any store call', async (t) => {
  const hasher = new GatedHasher()
  const fixture = await loginFixture({ hasher })
  const first = outcomes([fixture.attempt('alice', 'one', '192.0.2.1'), fixture.attempt('alice', 'two', '192.0.2.2')])
  await settle()
  t.equal(fixture.updates.length, 2)
  await t.rejects(fixture.attempt('alice', PASSWORD, '192.0.2.3'), { code: THROTTLED, headers: { 'retry-after': '1' } })
  t.equal(fixture.updates.length, 2, 'the refused attempt made no store call')
  hasher.open()
  t.same(await first, ['FST_TOKEN_AUTH_INVALID_CREDENTIALS', 'FST_TOKEN_AUTH_INVALID_CREDENTIALS'])
  t.equal((await fixture.attempt('alice', PASSWORD, '192.0.2.3')).user.id, 'id-alice', 'the slots are free again')
})

t.test('a ninth concurrent attempt from one address gets 429 with Retry-After 1, for any account', async (t) => {
  const hasher = new GatedHasher()
  const fixture = await loginFixture({ hasher })
  const first = outcomes(Array.from({ length: 8 }, async (_, i) => await fixture.attempt(`user${i}`, 'guess', '198.51.100.1')))
  await settle()
  await t.rejects(fixture.attempt('alice', PASSWORD, '198.51.100.1'), { code: THROTTLED, headers: { 'retry-after': '1' } })
  t.equal(fixture.updates.length, 8)
  const elsewhere = fixture.attempt('alice', PASSWORD, '198.51.100.2')
  await settle()
  t.equal(hasher.waiting.length, 9, 'another address is not held up')
  hasher.open()
  await first
  t.equal((await elsewhere).user.id, 'id-alice')
  t.equal((await fixture.attempt('alice', PASSWORD, '198.51.100.1')).user.id, 'id-alice', 'the address slots are free again')
})

t.test('a flood of 200 attempts at one account does not queue another user\'s login behind it', async (t) => {
  const hasher = new GatedHasher()
  const fixture = await loginFixture({ hasher })
  const flood = outcomes(Array.from({ length: 200 }, async (_, i) => await fixture.attempt('alice', `guess ${i}`, '203.0.113.9')))
  await settle()
  const bob = fixture.attempt('bob', PASSWORD, '192.0.2.50')
  await settle()
  t.same(hasher.waiting, ['guess 0', 'guess 1', PASSWORD], 'bob\'s check waits behind at most the two flood attempts in flight')
  hasher.open()
  t.equal((await bob).user.id, 'id-bob')
  const results = await flood
  t.equal(results.filter((code) => code === THROTTLED).length, 198, 'the rest of the flood was refused at once')
  t.equal(hasher.verifications, 3)
})

t.test('a browser with a device token has its own in-flight slots, apart from an attacker\'s at the account', async (t) => {
  const gated = new GatedHasher()
  const fixture = await loginFixture({ hasher: gated })
  gated.open()
  const { deviceToken } = await fixture.attempt('alice', PASSWORD, '192.0.2.10')
  gated.close()
  const flood = outcomes([fixture.attempt('alice', 'a', '203.0.113.1'), fixture.attempt('alice', 'b', '203.0.113.2')])
  await settle()
  const browser = fixture.attempt('alice', PASSWORD, '192.0.2.10', deviceToken)
  await settle()
  t.equal(gated.waiting.length, 3, 'the browser got a slot while the account\'s were taken')
  gated.open()
  t.equal((await browser).user.id, 'id-alice')
  t.same(await flood, ['FST_TOKEN_AUTH_INVALID_CREDENTIALS', 'FST_TOKEN_AUTH_INVALID_CREDENTIALS'])
})
