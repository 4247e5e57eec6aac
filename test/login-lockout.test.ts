import t from 'tap'
import { resolveLoginOptions } from '../lib/login/login-options.js'
import { resolveThrottlePolicy, THROTTLE_DEFAULTS } from '../lib/login/throttle-policy.js'
import { loginFixture, PASSWORD } from './helpers/login-fixture.js'

// A lockout doubles with each further attempt, is capped by maxLockout, and always ends.

const FAILED = 'FST_TOKEN_AUTH_INVALID_CREDENTIALS'
const THROTTLED = 'FST_TOKEN_AUTH_LOGIN_THROTTLED'

t.test('the lockout doubles with each further attempt, is capped at maxLockout, and always ends', async (t) => {
  const fixture = await loginFixture({ options: { throttle: { maxAccountFailures: 2, lockout: '30s', maxLockout: '2m' } } })
  for (let i = 0; i < 2; i++) await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  for (const lockout of [30, 60, 120, 120, 120]) {
    await t.rejects(fixture.attempt('alice', PASSWORD), { code: THROTTLED, headers: { 'retry-after': String(lockout) } }, `locked for ${lockout}s`)
    fixture.clock.advance(lockout - 1)
    await t.rejects(fixture.attempt('alice', PASSWORD), { code: THROTTLED, headers: { 'retry-after': '1' } }, 'still locked a second before the end')
    fixture.clock.advance(1)
    await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED }, 'the lockout ended: one more guess is checked')
  }
  fixture.clock.advance(120)
  t.equal((await fixture.attempt('alice', PASSWORD)).user.id, 'id-alice', 'the real user gets in once the lockout ends')
})

t.test('failures are forgotten a window after the first one, or after the last lockout ended', async (t) => {
  const fixture = await loginFixture({ options: { throttle: { maxAccountFailures: 2, window: '10m' } } })
  await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  fixture.clock.advance(600)
  await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  t.equal((await fixture.counters('account:alice'))['account:alice'].count, 1, 'a new window started')
  await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  fixture.clock.advance(30 + 599)
  await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  t.equal((await fixture.counters('account:alice'))['account:alice'].count, 3, 'within a window of the lockout\'s end the count goes on')
  fixture.clock.advance(60 + 600)
  await t.rejects(fixture.attempt('alice', 'wrong'), { code: FAILED })
  t.equal((await fixture.counters('account:alice'))['account:alice'].count, 1, 'a window after the lockout ended, it starts afresh')
})

t.test('options have their documented defaults and bad ones are refused at construction', async (t) => {
  t.same(resolveLoginOptions({ deviceTokenKey: 'k'.repeat(32) }), {
    throttle: { maxAccountFailures: 5, maxAddressFailures: 50, windowSeconds: 900, lockoutSeconds: 30, maxLockoutSeconds: 900 },
    maxInFlightPerAccount: 2,
    maxInFlightPerAddress: 8
  })
  t.same(THROTTLE_DEFAULTS, { maxAccountFailures: 5, maxAddressFailures: 50, window: '15m', lockout: '30s', maxLockout: '15m' })
  const bad = [
    [{ maxAccountFailures: 0 }, /throttle.maxAccountFailures must be a positive integer/],
    [{ maxAddressFailures: 1.5 }, /throttle.maxAddressFailures/],
    [{ window: '2d' }, /throttle.window/],
    [{ lockout: '0s' }, /throttle.lockout/],
    [{ lockout: '20m' }, /throttle.lockout must not be longer than throttle.maxLockout/]
  ] as const
  for (const [throttle, message] of bad) {
    t.throws(() => resolveThrottlePolicy(throttle), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message }, JSON.stringify(throttle))
  }
  t.throws(() => resolveLoginOptions({ deviceTokenKey: 'k'.repeat(32), maxInFlightPerAccount: 0 }), { message: /maxInFlightPerAccount/ })
  t.throws(() => resolveLoginOptions({ deviceTokenKey: 'k'.repeat(32), maxInFlightPerAddress: -1 }), { message: /maxInFlightPerAddress/ })
  await t.rejects(loginFixture({ options: { deviceTokenKey: 'too short' } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /deviceTokenKey must have at least 32 bytes/ })
})
