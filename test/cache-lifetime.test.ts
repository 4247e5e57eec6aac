import t from 'tap'
import { cacheLifetimeMs } from '../lib/remote/cache-lifetime.js'

// How long a fetched key set is trusted, from the HTTP caching headers, within our bounds.

const OPTIONS = { minAgeMs: 30_000, maxAgeMs: 3_600_000, defaultAgeMs: 600_000 }
const RECEIVED_AT = Date.UTC(2030, 0, 1)
const lifetime = (headers: Record<string, string>, options = OPTIONS): number => cacheLifetimeMs(new Headers(headers), RECEIVED_AT, options)

t.test('max-age gives the lifetime, less the Age the response already spent in caches', async (t) => {
  t.equal(lifetime({ 'cache-control': 'public, max-age=120' }), 120_000)
  t.equal(lifetime({ 'cache-control': 'max-age=120', age: '20' }), 100_000)
  t.equal(lifetime({ 'cache-control': 'max-age="90"' }), 90_000, 'a quoted value')
  t.equal(lifetime({ 'cache-control': 'Max-Age=90' }), 90_000, 'directive names are case-insensitive')
  t.equal(lifetime({ 'cache-control': 'max-age=120', age: 'soon' }), 120_000, 'a malformed Age counts as none')
  t.equal(lifetime({ 'cache-control': 'max-age=60, max-age=600' }), 60_000, 'the first max-age counts')
})

t.test('no-store, no-cache and max-age=0 give the floor, never a fetch per request', async (t) => {
  t.equal(lifetime({ 'cache-control': 'no-store' }), 30_000)
  t.equal(lifetime({ 'cache-control': 'private, no-cache' }), 30_000)
  t.equal(lifetime({ 'cache-control': 'max-age=0' }), 30_000)
  t.equal(lifetime({ 'cache-control': 'max-age=100', age: '500' }), 30_000, 'older than its max-age')
  t.equal(lifetime({ 'cache-control': 'max-age=600, no-store' }), 30_000, 'no-store wins over max-age')
})

t.test('lifetimes are capped', async (t) => {
  t.equal(lifetime({ 'cache-control': 'max-age=31536000' }), 3_600_000)
  t.equal(lifetime({ 'cache-control': `max-age=${'9'.repeat(400)}` }), 3_600_000, 'a number too large for a double')
  t.equal(lifetime({}, { ...OPTIONS, defaultAgeMs: 7_200_000 }), 3_600_000, 'the default too')
})

t.test('Expires less Date is used when there is no max-age', async (t) => {
  const date = new Date(RECEIVED_AT - 3_600_000).toUTCString()
  const expires = new Date(RECEIVED_AT - 3_600_000 + 300_000).toUTCString()
  t.equal(lifetime({ date, expires }), 300_000, "both from the server's clock, whatever ours says")
  t.equal(lifetime({ 'cache-control': 'public', date, expires }), 300_000, 'Cache-Control without max-age')
  t.equal(lifetime({ expires: new Date(RECEIVED_AT + 200_000).toUTCString() }), 200_000, 'without Date: from when it arrived')
  t.equal(lifetime({ date: 'yesterday', expires: new Date(RECEIVED_AT + 200_000).toUTCString() }), 200_000, 'a malformed Date: from when it arrived')
  t.equal(lifetime({ date, expires: date }), 30_000, 'already expired: the floor')
  t.equal(lifetime({ 'cache-control': 'max-age=120', date, expires }), 120_000, 'max-age wins over Expires')
})

t.test('malformed values are ignored: the next source, else the default', async (t) => {
  t.equal(lifetime({}), 600_000, 'no caching headers')
  t.equal(lifetime({ 'cache-control': 'max-age=ten' }), 600_000)
  t.equal(lifetime({ 'cache-control': 'max-age=-5' }), 600_000)
  t.equal(lifetime({ 'cache-control': 'max-age=1.5' }), 600_000)
  t.equal(lifetime({ 'cache-control': 'max-age' }), 600_000, 'no value')
  t.equal(lifetime({ 'cache-control': 'max-age=' }), 600_000, 'an empty value')
  t.equal(lifetime({ expires: '0' }), 600_000, 'an Expires that is no date')
  t.equal(lifetime({ 'cache-control': 'max-age=abc', expires: new Date(RECEIVED_AT + 200_000).toUTCString() }), 200_000, 'a bad max-age falls back to Expires')
})
