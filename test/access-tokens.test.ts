import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import type { Clock } from '../lib/clock.js'
import { accessTokens } from './helpers/access-tokens.js'

// AccessTokens, the engine behind app.tokenAuth.sign and the session service: two signing
// entry points with one lifetime cap, and time read only from the injected clock.

/** A clock that only moves when told to. */
function manualClock (startMs: number): Clock & { advance: (ms: number) => void } {
  let nowMs = startMs
  return { now: () => nowMs, advance: (ms) => { nowMs += ms } }
}

t.test('the public entry point refuses sid and ver; the session entry point writes them', async (t) => {
  const tokens = accessTokens()
  t.throws(() => tokens.sign({ sub: 'u1', sid: 'family-1' }), new TypeError('claims.sid is set only by the session service'))
  t.throws(() => tokens.sign({ sub: 'u1', ver: 3 }), new TypeError('claims.ver is set only by the session service'))
  t.throws(() => tokens.sign({ sub: 'u1', authMethod: 'api_key' }), new TypeError('claims.authMethod names an API key request: no token carries it'))
  t.throws(() => tokens.sign({ sub: 'u1', keyId: 'k' }), new TypeError('claims.keyId names an API key request: no token carries it'))
  const { token } = tokens.signForSession({ sub: 'u1', roles: ['a'], sid: 'family-1', ver: 3 })
  t.match(tokens.verify(token), { sub: 'u1', roles: ['a'], sid: 'family-1', ver: 3 })
})

t.test('an object that shows sid only on a second look cannot slip it past the public entry point', async (t) => {
  const tokens = accessTokens()
  let looks = 0
  const shifty = new Proxy({ sub: 'u1', sid: 'family-1' }, {
    getOwnPropertyDescriptor (target, name) {
      return name === 'sid' && ++looks === 1 ? undefined : Reflect.getOwnPropertyDescriptor(target, name)
    }
  })
  t.notOk('sid' in tokens.verify(tokens.sign(shifty).token), 'what was checked is what was signed')
})

t.test('the session entry point refuses a missing sid or a ver that is not an integer', async (t) => {
  const tokens = accessTokens()
  t.throws(() => tokens.signForSession({ sub: 'u1', sid: '', ver: 1 }), new TypeError('claims.sid must be a non-empty string'))
  t.throws(() => tokens.signForSession({ sub: 'u1', sid: 'f', ver: 1.5 }), new TypeError('claims.ver must be an integer'))
})

t.test('both entry points refuse a lifetime above maxTtlSeconds with a TypeError naming the limit', async (t) => {
  const tokens = accessTokens()
  const tooLong = new TypeError('the token lifetime (3601 s) is longer than the longest allowed, 3600 s (maxTtlSeconds)')
  t.throws(() => tokens.sign({ sub: 'u1' }, 3601), tooLong)
  t.throws(() => tokens.signForSession({ sub: 'u1', sid: 'f', ver: 0 }, 3601), tooLong)
  t.throws(() => tokens.sign({ sub: 'u1' }, Number.POSITIVE_INFINITY), { name: 'TypeError', message: /longest allowed, 3600 s/ })
  const signed = tokens.signForSession({ sub: 'u1', sid: 'f', ver: 0 }, 3600)
  t.equal(signed.exp - signed.iat, 3600, 'the limit itself is allowed')
})

t.test('a default lifetime above maxTtlSeconds is a configuration error', async (t) => {
  t.throws(() => accessTokens({ ttlSeconds: 7200 }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /lifetime \(7200 s\) is longer than the longest allowed, 3600 s/ })
  t.throws(() => accessTokens({ maxTtlSeconds: Number.NaN }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /maxTtlSeconds must be a positive number/ })
})

t.test('signing and verifying read the time from the injected clock, cache included', async (t) => {
  const clock = manualClock(Date.UTC(2001, 0, 1))
  const tokens = accessTokens({ clock, cacheSize: 10 })
  const signed = tokens.sign({ sub: 'u1' })
  t.equal(signed.iat, Date.UTC(2001, 0, 1) / 1000, 'iat is the clock\'s time')
  t.equal(tokens.verify(signed.token).sub, 'u1', 'valid by that clock')
  clock.advance(599_000)
  t.equal(tokens.verify(signed.token).sub, 'u1', 'still valid a second before exp (from the cache)')
  clock.advance(1000)
  t.throws(() => tokens.verify(signed.token), { code: 'FST_TOKEN_AUTH_TOKEN_EXPIRED' }, 'expired at exp by the clock, cached or not')
  t.throws(() => accessTokens().verify(tokens.signForSession({ sub: 'u1', sid: 'f', ver: 0 }).token), { code: 'FST_TOKEN_AUTH_TOKEN_EXPIRED' }, 'the session entry point uses the clock too')
})

t.test('nothing under lib/tokens reads the system time itself', async (t) => {
  const dir = new URL('../lib/tokens/', import.meta.url)
  for (const file of readdirSync(dir)) {
    t.notMatch(readFileSync(new URL(file, dir), 'utf8'), /Date\.now|new Date\(/, file)
  }
})
