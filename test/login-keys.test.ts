import t from 'tap'
import { accountKey, addressKey, deviceKey } from '../lib/login/throttle-keys.js'
import { loginFixture } from './helpers/login-fixture.js'

// Throttling keys are printable ASCII of at most 200 characters, whatever a client sends:
// a NUL or a 1000-character name never reaches a database.

const STORE_KEY = /^[\x21-\x7e]{1,200}$/

t.test('NUL and 1000-character usernames are ordinary 401 failures, counted under ASCII keys', async (t) => {
  const fixture = await loginFixture()
  for (const username of ['ali\0ce', 'a'.repeat(1000), '', ' alice', 'line\nbreak']) {
    await t.rejects(fixture.attempt(username, 'guess'), { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS', reason: 'unknown_user' }, JSON.stringify(username).slice(0, 20))
  }
  t.equal(fixture.lookups, 0, 'a value that can never be a username is never looked up')
  for (const keys of fixture.updates) for (const key of keys) t.match(key, STORE_KEY, key)
  t.equal(new Set(fixture.updates.map(([account]) => account)).size, 5, 'each raw value has a key of its own')
})

t.test('every spelling of a username counts on one key; names that are not plain ASCII are hashed', async (t) => {
  t.equal(accountKey('ALICE'), 'account:alice')
  t.equal(accountKey('Ａｌｉｃｅ'), 'account:alice', 'NFKC, then lower case')
  t.equal(accountKey('Élodie'), accountKey('élodie'))
  t.match(accountKey('élodie'), /^account#[0-9a-f]{64}$/)
  t.match(accountKey('alice smith'), /^account#[0-9a-f]{64}$/, 'a space is not kept in a key either')
  t.match(accountKey('b'.repeat(254)), /^account#[0-9a-f]{64}$/, 'a long valid name is hashed')
  t.equal(accountKey('a\0'), accountKey('a\0'))
  t.not(accountKey('a\0'), accountKey('a'))
})

t.test('an IPv6 client counts as its /64, and an address that is not one is hashed', async (t) => {
  t.equal(addressKey('2001:db8:1:2:3:4:5:6'), addressKey('2001:db8:1:2:ffff::1'))
  t.equal(addressKey('2001:db8:1:2::9'), 'address:2001:db8:1:2::/64')
  t.equal(addressKey('::ffff:192.0.2.1'), 'address:192.0.2.1')
  t.match(addressKey('not\0an address'), /^address#[0-9a-f]{64}$/)
  t.equal(deviceKey('abc_-'), 'device:abc_-')
})
