import t from 'tap'
import { DeviceTokens } from '../lib/login/device-tokens.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { CHEAP_PASSWORD, DEVICE_TOKEN_KEY, loginFixture, PASSWORD } from './helpers/login-fixture.js'

// OWASP's device cookies: an attacker who locks an account out does not lock out the
// browsers that signed in to it before.

const FAILED = 'FST_TOKEN_AUTH_INVALID_CREDENTIALS'
const THROTTLED = 'FST_TOKEN_AUTH_LOGIN_THROTTLED'
const ATTACKER = '203.0.113.66'
const HOME = '192.0.2.10'

t.test('cheap failures lock the account, but a browser with a device token still logs in, and its own guesses are limited', async (t) => {
  const hasher = new FastTestHasher()
  const fixture = await loginFixture({ hasher })
  const { deviceToken } = await fixture.attempt('alice', PASSWORD, HOME)
  const before = hasher.verifications
  for (let i = 0; i < 5; i++) await t.rejects(fixture.attempt('alice', CHEAP_PASSWORD, ATTACKER), { code: FAILED, reason: 'unusable_password' })
  t.equal(hasher.verifications, before, 'the attacker\'s 73-byte passwords cost no bcrypt work')
  await t.rejects(fixture.attempt('alice', PASSWORD, ATTACKER), { code: THROTTLED }, 'the account key is locked')
  await t.rejects(fixture.attempt('alice', PASSWORD, '192.0.2.99'), { code: THROTTLED }, 'for every browser without a device token')

  const again = await fixture.attempt('ALICE', PASSWORD, HOME, deviceToken)
  t.equal(again.user.id, 'id-alice', 'the browser that signed in before gets in')
  t.not(again.deviceToken, deviceToken, 'and gets a fresh device token')

  for (let i = 0; i < 5; i++) await t.rejects(fixture.attempt('alice', 'typo', HOME, again.deviceToken), { code: FAILED })
  await t.rejects(fixture.attempt('alice', PASSWORD, HOME, again.deviceToken), { code: THROTTLED }, 'a device token has the account\'s limit of its own')
  t.equal((await fixture.attempt('alice', PASSWORD, HOME, deviceToken)).user.id, 'id-alice', 'another device token of the same user has its own count')
})

t.test('a forged device token, or one issued for another user, is ignored: the attempt counts on the account', async (t) => {
  const fixture = await loginFixture()
  const { deviceToken: bobsToken } = await fixture.attempt('bob', PASSWORD)
  const { deviceToken: alicesToken } = await fixture.attempt('alice', PASSWORD)
  for (let i = 0; i < 5; i++) await t.rejects(fixture.attempt('alice', 'wrong', ATTACKER), { code: FAILED })
  const [nonce, mac] = alicesToken.split('.')
  const forged = [
    bobsToken,
    `${nonce}.${mac.slice(0, -2)}AA`,
    `${nonce.slice(0, -1)}${nonce.endsWith('A') ? 'B' : 'A'}.${mac}`,
    new DeviceTokens('another key that is 32 bytes lng').issue('alice'),
    'not a token'
  ]
  for (const token of forged) await t.rejects(fixture.attempt('alice', PASSWORD, HOME, token), { code: THROTTLED }, token)
  t.equal((await fixture.attempt('alice', PASSWORD, HOME, alicesToken)).user.id, 'id-alice', 'the genuine token still works')
})

t.test('device tokens: base64url, bound to the normalised username, verified strictly', async (t) => {
  const tokens = new DeviceTokens(Buffer.from(DEVICE_TOKEN_KEY))
  const token = tokens.issue('alice')
  t.match(token, /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/)
  t.equal(tokens.verify(token, 'alice'), token.split('.')[0], 'verify gives the nonce')
  t.equal(new DeviceTokens(DEVICE_TOKEN_KEY).verify(token, 'alice'), token.split('.')[0], 'a string key and its bytes are one key')
  t.equal(tokens.verify(token, 'bob'), undefined)
  t.equal(tokens.verify(undefined, 'alice'), undefined)
  t.equal(tokens.verify(42, 'alice'), undefined)
  t.equal(tokens.verify(`${token}=`, 'alice'), undefined)
  const last = token.at(-1) as string
  const sibling = String.fromCharCode(last.charCodeAt(0) ^ 1)
  t.equal(tokens.verify(`${token.slice(0, -1)}${sibling}`, 'alice'), undefined, 'a non-canonical spelling of the MAC is refused')
  t.not(tokens.issue('alice'), token, 'each token has a fresh nonce')
  t.throws(() => new DeviceTokens(new Uint8Array(31)), { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
})

t.test('device tokens need at least one key of at least 32 bytes', async (t) => {
  t.throws(() => new DeviceTokens([]), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /at least one key/ })
  t.throws(() => new DeviceTokens(['short']), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /at least 32 bytes/ })
})
