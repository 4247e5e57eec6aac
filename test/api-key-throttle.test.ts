import t from 'tap'
import { createMemoryStore, type AuthStore } from 'fastify-token-auth'
import { generateKey } from '../lib/api-keys/key-format.js'
import { KeyThrottle } from '../lib/api-keys/key-throttle.js'
import { ADDRESS, apiKeyCore, authenticated, countCounterCalls, countLookups, eventsOf } from './helpers/api-keys.js'
import { TestClock } from './helpers/clock.js'

// Failed keys are throttled per client address, in the store's counters, before any lookup.

const unknownKey = (): string => generateKey('fta_live_').key

/** The address's failure count as the store holds it. */
async function failuresOf (store: AuthStore, address = ADDRESS): Promise<number | undefined> {
  const key = `api-key-address:${address}`
  return await store.attempts.update([key], (current) => ({ write: [], result: current.get(key)?.count }))
}

t.test('past failuresPerAddress failures in the window: 429 with Retry-After, the next window allowed again', async (t) => {
  const { apiKeys, alice, store, clock, events } = await apiKeyCore(t, { apiKeys: { failuresPerAddress: 3, window: '10m' } })
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  await t.rejects(authenticated(apiKeys, 'fta_live_typo'), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'a malformed key counts too')
  clock.advance(100_000)
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  t.equal(await failuresOf(store), 3)
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_RATE_LIMITED', statusCode: 429, headers: { 'retry-after': '500' } })
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_RATE_LIMITED' }, 'a good key from that address too, once it is not cached')
  t.equal(await failuresOf(store), 3, 'refusals count nothing more')
  t.same(eventsOf(events, 'api_key.rejected').map((event) => event.reason), ['unknown', 'malformed', 'unknown', 'throttled'], 'one throttled event per address and window: the second refusal was remembered')
  t.match(eventsOf(events, 'api_key.rejected').at(-1), { address: ADDRESS, userId: undefined })
  t.ok(await authenticated(apiKeys, key, '198.51.100.1'), 'another address is not affected')
  clock.advance(500_000)
  t.equal((await authenticated(apiKeys, key)).sub, alice.id, 'the window ended')
})

t.test('an IPv6 /64 counts as one address', async (t) => {
  const { apiKeys } = await apiKeyCore(t, { apiKeys: { failuresPerAddress: 2 } })
  await t.rejects(authenticated(apiKeys, unknownKey(), '2001:db8:1:2::1'), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  await t.rejects(authenticated(apiKeys, unknownKey(), '2001:db8:1:2::ffff'), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  await t.rejects(authenticated(apiKeys, unknownKey(), '2001:db8:1:2:aaaa::1'), { code: 'FST_TOKEN_AUTH_RATE_LIMITED' })
  await t.rejects(authenticated(apiKeys, unknownKey(), '2001:db8:1:3::1'), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'the next /64 is another address')
})

t.test('200 concurrent bad keys count exactly 200', async (t) => {
  const { apiKeys, store } = await apiKeyCore(t, { apiKeys: { failuresPerAddress: 1000 } })
  const results = await Promise.allSettled(Array.from({ length: 200 }, async () => await authenticated(apiKeys, unknownKey())))
  t.ok(results.every((result) => result.status === 'rejected' && (result.reason as { code: string }).code === 'FST_TOKEN_AUTH_INVALID_API_KEY'))
  t.equal(await failuresOf(store), 200)
})

t.test('200 concurrent bad keys past an allowance of 10: at most 10 lookups, the rest 429', async (t) => {
  const { apiKeys, store } = await apiKeyCore(t, { apiKeys: { failuresPerAddress: 10 } })
  const lookups = countLookups(store)
  const results = await Promise.allSettled(Array.from({ length: 200 }, async () => await authenticated(apiKeys, unknownKey())))
  const codes = results.map((result) => (result as PromiseRejectedResult).reason.code as string)
  t.equal(codes.filter((code) => code === 'FST_TOKEN_AUTH_INVALID_API_KEY').length, 10)
  t.equal(codes.filter((code) => code === 'FST_TOKEN_AUTH_RATE_LIMITED').length, 190)
  t.ok(lookups.count <= 10, `${lookups.count} lookups`)
  t.equal(await failuresOf(store), 10)
})

t.test('a good key takes its count back: successes never lock an address out', async (t) => {
  const { apiKeys, alice, store } = await apiKeyCore(t, { apiKeys: { failuresPerAddress: 2, cache: { maxEntries: 0 } } })
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  for (let i = 0; i < 5; i++) t.equal((await authenticated(apiKeys, key)).sub, alice.id)
  t.equal(await failuresOf(store), 1, 'only the failure is left')
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  await t.rejects(authenticated(apiKeys, key), { code: 'FST_TOKEN_AUTH_RATE_LIMITED' })
})

t.test('a refused address is remembered here until its window ends: no store call during a flood', async (t) => {
  const { apiKeys, store, clock, events } = await apiKeyCore(t, { apiKeys: { failuresPerAddress: 1, window: '60s' } })
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_RATE_LIMITED' }, 'refused by the store\'s counter')
  const calls = countCounterCalls(store)
  const lookups = countLookups(store)
  const codes: string[] = []
  for (let i = 0; i < 100; i++) await authenticated(apiKeys, unknownKey()).catch((error: { code: string }) => { codes.push(error.code) })
  t.same(new Set(codes), new Set(['FST_TOKEN_AUTH_RATE_LIMITED']))
  t.equal(codes.length, 100)
  clock.advance(59_000)
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_RATE_LIMITED', headers: { 'retry-after': '1' } })
  t.equal(calls.count, 0, 'no counter read or written')
  t.equal(lookups.count, 0)
  t.equal(eventsOf(events, 'api_key.rejected').filter((event) => event.reason === 'throttled').length, 1, 'a flood of refusals is one event')
  clock.advance(1000)
  await t.rejects(authenticated(apiKeys, unknownKey()), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'the window ended: counted in the store again')
  t.equal(calls.count, 1)
})

t.test('the memory of refused addresses is bounded: the oldest is forgotten and asks the store again', async (t) => {
  const store = createMemoryStore()
  const clock = new TestClock(1_900_000_000_000)
  const throttle = new KeyThrottle(store.attempts, clock, { failuresPerAddress: 1, windowSeconds: 60, maxRemembered: 2 })
  const addresses = ['192.0.2.1', '192.0.2.2', '192.0.2.3']
  for (const address of addresses) {
    t.equal((await throttle.reserve(address)).allowed, true)
    t.same(await throttle.reserve(address), { allowed: false, retryAfter: 60, remembered: false })
  }
  const calls = countCounterCalls(store)
  t.same(await throttle.reserve(addresses[2]), { allowed: false, retryAfter: 60, remembered: true })
  t.same(await throttle.reserve(addresses[1]), { allowed: false, retryAfter: 60, remembered: true })
  t.equal(calls.count, 0, 'the two latest are remembered')
  t.same(await throttle.reserve(addresses[0]), { allowed: false, retryAfter: 60, remembered: false }, 'the store still refuses the first')
  t.equal(calls.count, 1, 'but it had to be asked')
})
