import t from 'tap'
import { toSeconds } from '../lib/duration.js'

t.test('durations are seconds or strings with ms, s, m, h, d', async (t) => {
  t.equal(toSeconds(90, 'x'), 90)
  t.equal(toSeconds('250ms', 'x'), 0.25)
  t.equal(toSeconds('30s', 'x'), 30)
  t.equal(toSeconds('15m', 'x'), 900)
  t.equal(toSeconds(' 2h ', 'x'), 7200)
  t.equal(toSeconds('1.5d', 'x'), 129600)
})

t.test('anything else is refused, naming the option', async (t) => {
  for (const value of ['15', '15 minutes', '-1s', 'm', '', Number.NaN, Number.POSITIVE_INFINITY, null, {}]) {
    t.throws(() => toSeconds(value as string, 'session.maxAge'), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /session.maxAge must be a number of seconds/ }, JSON.stringify(value))
  }
  t.throws(() => toSeconds(0, 'ttl'), { message: /ttl must be above 0/ })
  t.throws(() => toSeconds('1d', 'ttl', 1, 3600), { message: /ttl must be at least 1 and at most 3600 seconds/ })
})
