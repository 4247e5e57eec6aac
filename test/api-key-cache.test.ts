import t from 'tap'
import { createMemoryStore, type AuthCore } from 'fastify-token-auth'
import { ApiKeyCache, type CachedApiKey } from '../lib/api-keys/api-key-cache.js'
import { ADDRESS, apiKeyCore, authenticated, countLookups, eventsOf } from './helpers/api-keys.js'
import { TestClock } from './helpers/clock.js'

// Verified keys are cached by hash: a repeated key costs no I/O, and no cache outlives a revocation it could have seen.

/** Waits, in real time, until `check` holds (a sync runs on its own timer), at most 5 s. */
async function eventually (check: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 5000; waited += 10) {
    if (check()) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

t.test('a cached key answers at once, with the same frozen identity, and no store call', async (t) => {
  const { apiKeys, alice, store } = await apiKeyCore(t)
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: ['profile:read'] })
  const lookups = countLookups(store)
  const first = apiKeys.authenticate(key, ADDRESS)
  t.ok(first instanceof Promise, 'the first use looks the key up')
  const identity = await first
  const attempts = store.attempts.update
  let counted = 0
  store.attempts.update = async (keys, decide) => { counted++; return await attempts(keys, decide) }
  for (let i = 0; i < 100; i++) {
    const hit = apiKeys.authenticate(key, ADDRESS)
    t.notOk(hit instanceof Promise, 'a hit is no Promise')
    t.equal(hit, identity)
  }
  t.equal(lookups.count, 1)
  t.equal(counted, 0, 'nor any counter written')
})

t.test('a key revoked on another instance is refused by this one once it has synced, without a lookup', async (t) => {
  const store = createMemoryStore()
  const clock = new TestClock(1_900_000_000_000)
  const a = await apiKeyCore(t, { store, clock, apiKeys: { cache: { ttl: '1h' } } })
  const b = await apiKeyCore(t, { store, clock })
  const { key, apiKey } = await a.apiKeys.create(a.alice.id, { name: 'k', scopes: [] })
  await authenticated(a.apiKeys, key)
  const lookups = countLookups(store)
  await b.apiKeys.revoke(b.alice.id, apiKey.id)
  t.equal((a.apiKeys.authenticate(key, ADDRESS) as { sub: string }).sub, a.alice.id, 'until its next sync, A answers from its cache')
  let answer: unknown
  t.ok(await eventually(() => {
    try {
      answer = a.apiKeys.authenticate(key, ADDRESS)
      if (answer instanceof Promise) answer.catch(() => {})
      return answer instanceof Promise
    } catch {
      return false
    }
  }), 'the synced revocation turns the hit into a refusal')
  await t.rejects(answer as Promise<unknown>, { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' })
  t.equal(lookups.count, 0, 'refused from the revocation list: no lookup')
  t.match(eventsOf(a.events, 'api_key.rejected').at(-1), { reason: 'revoked', keyId: apiKey.id, userId: a.alice.id })
  const next = a.apiKeys.authenticate(key, ADDRESS)
  t.ok(next instanceof Promise, 'a refusal is a rejected Promise, never a synchronous throw')
  await t.rejects(next as Promise<unknown>, { code: 'FST_TOKEN_AUTH_INVALID_API_KEY' }, 'then looked up: the row says revoked')
  t.equal(lookups.count, 1)
})

t.test('a user revocation (logout everywhere, here on another instance) makes the next use read the user again', async (t) => {
  const store = createMemoryStore()
  const clock = new TestClock(1_900_000_000_000)
  const a = await apiKeyCore(t, { store, clock, apiKeys: { cache: { ttl: '1h' } } })
  const b = await apiKeyCore(t, { store, clock })
  const { key } = await a.apiKeys.create(a.alice.id, { name: 'k', scopes: [] })
  await authenticated(a.apiKeys, key)
  const lookups = countLookups(store)
  await (b.core.stateful as NonNullable<AuthCore['stateful']>).accounts.logOutEverywhere(b.alice.id, {})
  t.ok(await eventually(() => a.apiKeys.authenticate(key, ADDRESS) instanceof Promise), 'a lookup once A has synced')
  t.equal((await authenticated(a.apiKeys, key)).sub, a.alice.id, 'still valid')
  t.ok(lookups.count >= 1)
  const count = lookups.count
  t.notOk(a.apiKeys.authenticate(key, ADDRESS) instanceof Promise, 'cached again at the new token version')
  t.equal(lookups.count, count)
})

t.test('an entry lives at most cache.ttl', async (t) => {
  const { apiKeys, alice, store, clock } = await apiKeyCore(t, { apiKeys: { cache: { ttl: '60s' } } })
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const lookups = countLookups(store)
  await authenticated(apiKeys, key)
  clock.advance(59_999)
  t.notOk(apiKeys.authenticate(key, ADDRESS) instanceof Promise)
  clock.advance(1)
  const again = apiKeys.authenticate(key, ADDRESS)
  t.ok(again instanceof Promise, 'looked up again at the ttl')
  await again
  t.equal(lookups.count, 2)
})

t.test('the cache holds at most maxEntries keys, the oldest filled leaving first; 0 turns it off', async (t) => {
  const { apiKeys, alice } = await apiKeyCore(t, { apiKeys: { cache: { maxEntries: 2 } } })
  const keys = await Promise.all(['a', 'b', 'c'].map(async (name) => (await apiKeys.create(alice.id, { name, scopes: [] })).key))
  for (const key of keys) await authenticated(apiKeys, key)
  t.ok(apiKeys.authenticate(keys[0], ADDRESS) instanceof Promise, 'the first was evicted')
  t.notOk(apiKeys.authenticate(keys[2], ADDRESS) instanceof Promise, 'the last is still there')
  const off = await apiKeyCore(t, { apiKeys: { cache: { maxEntries: 0 } } })
  const { key } = await off.apiKeys.create(off.alice.id, { name: 'k', scopes: [] })
  const lookups = countLookups(off.store)
  await authenticated(off.apiKeys, key)
  t.ok(off.apiKeys.authenticate(key, ADDRESS) instanceof Promise, 'nothing is cached')
  t.ok(lookups.count >= 1)
})

t.test('a filled entry filled again moves to the newest place', async (t) => {
  const cache = new ApiKeyCache<string>({ maxEntries: 2, ttlMs: 1000 })
  const entry = (keyId: string): CachedApiKey<string> => ({ identity: keyId, keyId, userId: 'u', tokenVersion: 0, expiresAt: null, lastUsedAt: null })
  cache.set('a', entry('a'), 0)
  cache.set('b', entry('b'), 0)
  cache.set('a', entry('a2'), 0)
  cache.set('c', entry('c'), 0)
  t.equal(cache.size, 2)
  t.equal(cache.get('b', 0), undefined, 'b was the oldest')
  t.equal(cache.get('a', 0)?.identity, 'a2')
  t.equal(cache.get('a', 1000), undefined, 'stale at the ttl, and dropped')
  t.equal(cache.size, 1)
})

t.test('revocations not synced for longer than maxStaleness: 503, from the cache or not, and nothing counted', async (t) => {
  const { apiKeys, alice, clock, store } = await apiKeyCore(t, { core: { revocation: { syncInterval: '250ms', maxStaleness: '1s' } } })
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const other = (await apiKeys.create(alice.id, { name: 'k2', scopes: [] })).key
  await authenticated(apiKeys, key)
  const lookups = countLookups(store)
  clock.advance(2000)
  // No await between the clock move and the calls: no sync can run in between.
  const refusals: unknown[] = []
  for (const candidate of [key, other, 'fta_live_nonsense']) {
    try {
      apiKeys.authenticate(candidate, ADDRESS)
    } catch (error) {
      refusals.push(error)
    }
  }
  t.match(refusals, Array(3).fill({ code: 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': '1' } }))
  t.equal(lookups.count, 0)
})

t.test('an entry ages from before its lookup: a read that returns late is not kept past the ttl of when it was read', async (t) => {
  const { apiKeys, alice, store, clock } = await apiKeyCore(t, { apiKeys: { scopes: {}, cache: { ttl: '60s' } } })
  const { key } = await apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const findByHash = store.apiKeys.findByHash
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let lookups = 0
  store.apiKeys.findByHash = async (hash) => {
    lookups++
    const found = await findByHash(hash)
    if (lookups === 1) await gate
    return found
  }
  const first = authenticated(apiKeys, key)
  await new Promise((resolve) => setImmediate(resolve))
  clock.advance(50_000)
  release()
  await first
  clock.advance(11_000)
  await authenticated(apiKeys, key)
  t.equal(lookups, 2, '61 s after the read began the key is looked up again, though the read ended 11 s ago')
})
