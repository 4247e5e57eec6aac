import t from 'tap'
import { VerifiedTokenCache } from '../lib/tokens/verified-token-cache.js'
import { buildApp } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { TestClock } from './helpers/clock.js'

t.test('the cache serves an entry until the moment it stops being valid, then drops it', async (t) => {
  const cache = new VerifiedTokenCache<string>(10)
  cache.set('a', 'claims-a', 1000)
  t.equal(cache.get('a', 999), 'claims-a')
  t.equal(cache.get('a', 1000), undefined)
  t.equal(cache.size, 0)
  t.equal(cache.get('b', 0), undefined)
})

t.test('the cache is bounded: the oldest entry goes first', async (t) => {
  const cache = new VerifiedTokenCache<number>(2)
  cache.set('a', 1, 100)
  cache.set('b', 2, 100)
  cache.set('c', 3, 100)
  t.equal(cache.size, 2)
  t.equal(cache.get('a', 0), undefined)
  t.equal(cache.get('c', 0), 3)
})

t.test('a cached token is still refused once it expires', async (t) => {
  // Half a second into a whole second, so that a 1 s token is valid for the first request.
  const clock = new TestClock(1_800_000_000_500)
  const app = await buildApp(t, { auth: { clockTolerance: 0, clock } })
  const token = await app.tokenAuth.sign({ sub: 'u1' }, { expiresIn: 1 })
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'verified and cached')
  clock.advance(1000)
  const res = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_TOKEN_EXPIRED')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('with the cache off every request verifies in full', async (t) => {
  const app = await buildApp(t, { auth: { verifiedTokenCacheSize: 0 } })
  const token = await app.tokenAuth.sign({ sub: 'u1' })
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
})
