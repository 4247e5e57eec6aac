import t from 'tap'
import { RateLimit } from '../lib/sessions/rate-limit.js'
import { TestClock } from './helpers/clock.js'

// The per-instance request counters behind the session rate limits.

t.test('a key may make `limit` requests per window; the next one is refused with the seconds left', async (t) => {
  const clock = new TestClock(0)
  const limit = new RateLimit({ limit: 2, windowSeconds: 60, maxKeys: 10 }, clock)
  limit.hit('a')
  clock.advance(10_000)
  limit.hit('a')
  t.throws(() => { limit.hit('a') }, { code: 'FST_TOKEN_AUTH_RATE_LIMITED', statusCode: 429, headers: { 'retry-after': '50' } })
  limit.hit('b')
  clock.advance(50_000)
  limit.hit('a')
})

t.test('memory is bounded: past maxKeys the oldest window is forgotten', async (t) => {
  const limit = new RateLimit({ limit: 1, windowSeconds: 60, maxKeys: 2 }, new TestClock(0))
  limit.hit('a')
  limit.hit('b')
  limit.hit('c')
  t.doesNotThrow(() => { limit.hit('a') }, 'a was forgotten, so it starts again')
  t.throws(() => { limit.hit('c') }, { code: 'FST_TOKEN_AUTH_RATE_LIMITED' }, 'the newest are kept')
})
