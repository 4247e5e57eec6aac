import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { systemClock, type Clock } from '../lib/clock.js'
import { RemoteKeySet, type KeyLookup, type RemoteKeySetOptions } from '../lib/remote/remote-key-set.js'
import type { RingKey } from '../lib/tokens/key-ring.js'
import { TestClock } from './helpers/clock.js'
import { generateIssuerKey, startLocalIssuer, type LocalIssuer } from './helpers/local-issuer.js'

// The key set of a remote issuer: lookups never wait for a known key, rotations are picked
// up, unknown kids cost the issuer at most one request per cooldown, outages are ridden out
// for a while and then refused with a 503.

const COOLDOWN = 10_000
const DEFAULT_AGE = 300_000
const STALE = 600_000

interface Logged { warn: Array<{ details: object, message: string }>, error: Array<{ details: object, message: string }>, info: string[] }

function keySetFor (t: Test, issuer: LocalIssuer, clock: Clock, overrides: Partial<RemoteKeySetOptions> = {}): { set: RemoteKeySet, logged: Logged } {
  const logged: Logged = { warn: [], error: [], info: [] }
  const set = new RemoteKeySet({
    url: issuer.jwksUrl,
    name: issuer.issuer,
    algorithms: ['EdDSA', 'ES256', 'RS256', 'PS256'],
    timeoutMs: 2000,
    cooldownMs: COOLDOWN,
    minAgeMs: 30_000,
    maxAgeMs: 3_600_000,
    defaultAgeMs: DEFAULT_AGE,
    staleWindowMs: STALE,
    maxBytes: 64 * 1024,
    maxKeys: 10,
    clock,
    log: {
      warn: (details, message) => { logged.warn.push({ details, message }) },
      error: (details, message) => { logged.error.push({ details, message }) },
      info: (message) => { logged.info.push(message) }
    },
    ...overrides
  })
  t.teardown(async () => { await set.stop() })
  return { set, logged }
}

/** Whether `key` verifies a token the issuer signed: proof the right key came back. */
function verifies (key: KeyLookup, token: string): boolean {
  if (key === undefined || key instanceof Promise) return false
  const [header, payload, signature] = token.split('.')
  return key.verify(`${header}.${payload}`, signature)
}

function unavailable (t: Test, lookup: () => unknown, retryAfter: string, name: string): void {
  t.throws(lookup, { code: 'FST_TOKEN_AUTH_KEYS_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': retryAfter } }, name)
}

/** Waits (real time, briefly) for a fetch started in the background to settle. */
async function until (condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await sleep(5)
  if (!condition()) throw new Error('the condition never held')
}

function usable (set: RemoteKeySet, kid: string): boolean {
  try {
    return !(set.lookup(kid) instanceof Promise)
  } catch {
    return false
  }
}

t.test('after start, a known kid is answered synchronously, and a token without kid gets the only key', async (t) => {
  const issuer = await startLocalIssuer(t)
  const { set } = keySetFor(t, issuer, new TestClock())
  await set.start()
  t.equal(set.fetchCount, 1)
  const token = await issuer.sign({ sub: 'u1' })
  const key = set.lookup(issuer.keys[0].kid)
  t.notOk(key instanceof Promise, 'no promise for a known key')
  t.ok(verifies(key, token))
  t.equal(set.lookup(undefined), key, 'the only key')
  t.equal(set.fetchCount, 1)
  t.equal(issuer.requests, 1)
})

t.test('with several keys, a token without kid gets none, and no fetch', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.addKey()
  const clock = new TestClock()
  const { set } = keySetFor(t, issuer, clock)
  await set.start()
  clock.advance(COOLDOWN)
  t.equal(set.lookup(undefined), undefined)
  t.equal(set.fetchCount, 1)
})

t.test('a rotation is picked up by the first token with the new kid, in one shared fetch', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: [generateIssuerKey('ES256')] })
  const clock = new TestClock()
  const { set } = keySetFor(t, issuer, clock)
  await set.start()
  const old = issuer.keys[0].kid
  const { added } = issuer.rotate()
  const token = await issuer.sign({ sub: 'u1' }, { kid: added.kid })
  t.equal(set.lookup(added.kid), undefined, 'within the cooldown after start: unknown, no fetch')
  clock.advance(COOLDOWN)
  const lookups = Array.from({ length: 20 }, () => set.lookup(added.kid))
  t.ok(lookups.every((lookup) => lookup instanceof Promise), 'every request for the new kid waits for the fetch')
  const keys = await Promise.all(lookups)
  t.ok(keys.every((key) => key === keys[0]) && verifies(keys[0], token), 'all get the new key')
  t.equal(set.fetchCount, 2, 'one fetch for all of them')
  t.equal(issuer.requests, 2)
  t.equal(set.lookup(old), undefined, 'the removed key stops verifying at once')
})

t.test('a flood of random kids costs the issuer one request per cooldown', async (t) => {
  const issuer = await startLocalIssuer(t)
  const clock = new TestClock()
  const { set } = keySetFor(t, issuer, clock)
  await set.start()
  const flood = (): KeyLookup[] => Array.from({ length: 1000 }, () => set.lookup(randomUUID()))
  t.ok(flood().every((lookup) => lookup === undefined), 'right after start: refused at once')
  t.equal(issuer.requests, 1)
  clock.advance(COOLDOWN)
  const waiting = flood()
  t.same(await Promise.all(waiting), Array(1000).fill(undefined), 'the first starts a fetch, the others share it')
  t.equal(issuer.requests, 2)
  clock.advance(COOLDOWN - 1)
  t.ok(flood().every((lookup) => lookup === undefined), 'later within the cooldown: refused at once')
  t.equal(issuer.requests, 2)
  clock.advance(1)
  await Promise.all(flood())
  t.equal(issuer.requests, 3, 'one more after the cooldown')
  t.equal(set.fetchCount, 3)
  t.ok(verifies(set.lookup(issuer.keys[0].kid), await issuer.sign({})), 'the real key still works')
})

t.test('at freshUntil, a lookup starts a refresh in the background and is answered at once', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.setHeaders({ 'cache-control': 'max-age=60' })
  const clock = new TestClock()
  const { set } = keySetFor(t, issuer, clock, { timeoutMs: 200 })
  await set.start()
  const first = issuer.keys[0]
  const token = await issuer.sign({})
  clock.advance(59_999)
  t.ok(verifies(set.lookup(first.kid), token))
  t.equal(set.fetchCount, 1, 'fresh: no fetch')
  const second = issuer.addKey()
  issuer.hang()
  clock.advance(1)
  const key = set.lookup(first.kid)
  t.ok(verifies(key, token), 'answered synchronously while the issuer hangs')
  t.equal(set.fetchCount, 2, 'a refresh started')
  t.ok(verifies(set.lookup(first.kid), token), 'and again, without a second fetch')
  t.equal(set.fetchCount, 2)
  issuer.hang(false)
  // The refresh under way is the hanging one; after it fails, the next brings the new key.
  await set.lookup(second.kid)
  clock.advance(COOLDOWN)
  t.ok(verifies(await set.lookup(second.kid), await issuer.sign({}, { kid: second.kid })), 'the refreshed set has the new key')
})

t.test('a refresh replaces the whole set: a key the issuer removed stops verifying', async (t) => {
  const issuer = await startLocalIssuer(t)
  const kept = issuer.addKey()
  const clock = new TestClock()
  const { set } = keySetFor(t, issuer, clock)
  await set.start()
  const removed = issuer.keys[0]
  issuer.removeKey(removed.kid)
  clock.advance(DEFAULT_AGE)
  t.ok(set.lookup(removed.kid) !== undefined, 'until the refresh, still known')
  t.equal(await set.lookup(randomUUID()), undefined, 'wait for the refresh')
  t.equal(set.lookup(removed.kid), undefined, 'removed')
  t.equal(set.lookup(undefined), set.lookup(kept.kid), 'the remaining key is now the only one')
})

t.test('an issuer down: keys still work within the stale window, then 503 with Retry-After, then recovery', async (t) => {
  const issuer = await startLocalIssuer(t)
  const clock = new TestClock()
  const { set, logged } = keySetFor(t, issuer, clock)
  await set.start()
  const kid = issuer.keys[0].kid
  const token = await issuer.sign({})
  issuer.setStatus(500)
  clock.advance(DEFAULT_AGE)
  t.ok(verifies(set.lookup(kid), token), 'past freshUntil, the refresh failing')
  t.equal(await set.lookup(randomUUID()), undefined, 'the failed refresh leaves the old set usable')
  t.match(logged.error, [{ details: { issuer: issuer.issuer, reason: /HTTP 500/ }, message: /cannot be fetched/ }])
  clock.advance(COOLDOWN)
  t.ok(verifies(set.lookup(kid), token), 'still within the stale window')
  await set.lookup(randomUUID())
  t.equal(set.fetchCount, 3)
  t.equal(logged.error.length, 1, 'logged once per outage, not per failed fetch')
  clock.set(clock.now() + STALE - COOLDOWN - 1)
  t.ok(verifies(set.lookup(kid), token), 'the last millisecond of the stale window')
  await set.lookup(randomUUID())
  clock.advance(1)
  unavailable(t, () => set.lookup(kid), '10', 'past the stale window: never accepted with keys too old')
  unavailable(t, () => set.lookup(undefined), '10', 'not even without kid')
  clock.advance(COOLDOWN - 1500)
  unavailable(t, () => set.lookup(kid), '2', 'Retry-After counts down to the next allowed fetch')
  t.equal(set.fetchCount, 4)
  issuer.setStatus(200)
  clock.advance(1500)
  unavailable(t, () => set.lookup(kid), '10', 'a fetch starts, this request still refused')
  t.equal(set.fetchCount, 5)
  await until(() => usable(set, kid))
  t.ok(verifies(set.lookup(kid), token), 'recovered')
  t.same(logged.info, [`the signing keys of ${issuer.issuer} can be fetched again`])
  t.equal(logged.error.length, 1)
})

t.test('a promise for an unknown kid rejects with the 503 when the keys became too old during its fetch', async (t) => {
  const issuer = await startLocalIssuer(t)
  const clock = new TestClock()
  const { set } = keySetFor(t, issuer, clock, { timeoutMs: 200 })
  await set.start()
  issuer.hang()
  clock.advance(COOLDOWN)
  const lookup = set.lookup(randomUUID())
  clock.advance(DEFAULT_AGE + STALE)
  await t.rejects(lookup as Promise<unknown>, { code: 'FST_TOKEN_AUTH_KEYS_UNAVAILABLE', headers: { 'retry-after': '1' } })
})

t.test('keys never fetched: start resolves anyway, lookups are a 503 until a fetch succeeds', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.setStatus(503)
  const clock = new TestClock()
  const { set, logged } = keySetFor(t, issuer, clock)
  await set.start()
  const kid = issuer.keys[0].kid
  unavailable(t, () => set.lookup(kid), '10', 'a known kid')
  unavailable(t, () => set.lookup(randomUUID()), '10', 'an unknown kid')
  unavailable(t, () => set.lookup(undefined), '10', 'no kid')
  t.equal(set.fetchCount, 1, 'no fetch within the cooldown')
  t.match(logged.error, [{ details: { issuer: issuer.issuer, reason: /HTTP 503/ } }])
  issuer.setStatus(200)
  clock.advance(COOLDOWN)
  unavailable(t, () => set.lookup(kid), '10', 'the request that starts the fetch')
  await until(() => usable(set, kid))
  t.equal(set.fetchCount, 2)
  t.same(logged.info.length, 1)
})

t.test('a hanging issuer fails within timeoutMs, and start does not wait longer', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.hang()
  const { set, logged } = keySetFor(t, issuer, new TestClock(), { timeoutMs: 200 })
  await set.start()
  t.match(logged.error, [{ details: { reason: 'no answer within 200 ms' } }])
  unavailable(t, () => set.lookup(issuer.keys[0].kid), '10', 'no keys')
})

t.test('a document that cannot be used is a failed fetch: the old set stays', async (t) => {
  const endless = (): Readable => Readable.from((function * () { for (;;) yield Buffer.alloc(1024, 32) })())
  const cases: Array<[string, (issuer: LocalIssuer) => void, RegExp]> = [
    ['a body over maxBytes', (issuer) => { issuer.setBody(Buffer.alloc(65 * 1024, 32)) }, /more than the limit of 65536/],
    ['an endless body', (issuer) => { issuer.setBody(endless) }, /longer than the limit of 65536 bytes/],
    ['malformed JSON', (issuer) => { issuer.setBody('{"keys": [') }, /not UTF-8 JSON/],
    ['not a key set', (issuer) => { issuer.setBody('{"keys": {}}') }, /no "keys" array/],
    ['too many keys', (issuer) => { for (let i = 0; i < 11; i++) issuer.addKey() }, /12 keys, more than the limit of 10/],
    ['a 404', (issuer) => { issuer.setStatus(404) }, /HTTP 404/],
    ['a redirect', (issuer) => { issuer.setStatus(302); issuer.setHeaders({ location: '/.well-known/jwks.json' }) }, /redirect/]
  ]
  for (const [name, breakIssuer, reason] of cases) {
    await t.test(name, async (t) => {
      const issuer = await startLocalIssuer(t)
      const clock = new TestClock()
      const { set, logged } = keySetFor(t, issuer, clock)
      await set.start()
      const token = await issuer.sign({})
      breakIssuer(issuer)
      clock.advance(DEFAULT_AGE)
      t.ok(verifies(set.lookup(issuer.keys[0].kid), token))
      t.equal(await set.lookup(randomUUID()), undefined)
      t.match(logged.error, [{ details: { issuer: issuer.issuer, reason } }])
      t.ok(verifies(set.lookup(issuer.keys[0].kid), token), 'the old set is kept')
      t.equal(issuer.requests, 2, 'one request per fetch: a redirect is not followed')
    })
  }
})

t.test('unsafe and unusable entries are skipped and logged once per fetch; the good keys work', async (t) => {
  const good = generateIssuerKey('EdDSA')
  const rsaAsEdDSA = generateIssuerKey('RS256')
  rsaAsEdDSA.jwk = { ...rsaAsEdDSA.jwk, alg: 'EdDSA' }
  const small = generateIssuerKey('RS256', { rsaBits: 1024 })
  const encryption = generateIssuerKey('ES256')
  encryption.jwk = { ...encryption.jwk, use: 'enc' }
  const encryptOnly = generateIssuerKey('ES256')
  encryptOnly.jwk = { ...encryptOnly.jwk, key_ops: ['encrypt'] }
  const twin1 = generateIssuerKey('EdDSA', { kid: 'twin' })
  const twin2 = generateIssuerKey('ES256', { kid: 'twin' })
  const issuer = await startLocalIssuer(t, { keys: [good, rsaAsEdDSA, small, encryption, encryptOnly, twin1, twin2] })
  issuer.addEntry({ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', kid: 'hmac', alg: 'HS256' })
  const clock = new TestClock()
  const { set, logged } = keySetFor(t, issuer, clock)
  await set.start()
  t.ok(verifies(set.lookup(good.kid), await issuer.sign({}, { kid: good.kid })))
  t.equal(set.lookup(undefined), set.lookup(good.kid), 'the only usable key')
  for (const kid of [rsaAsEdDSA.kid, small.kid, encryption.kid, encryptOnly.kid, 'twin', 'hmac']) t.equal(set.lookup(kid), undefined, kid)
  t.equal(logged.warn.length, 1, 'one warning per fetch')
  t.match(logged.warn[0], {
    details: {
      issuer: issuer.issuer,
      skipped: [
        { kid: rsaAsEdDSA.kid, reason: /RSA key of 2048 bits, which cannot be used for EdDSA/ },
        { kid: small.kid, reason: /at least 2048 bits/ },
        { kid: encryption.kid, reason: /use is "enc"/ },
        { kid: encryptOnly.kid, reason: /key_ops/ },
        { kid: 'hmac', reason: /symmetric/ },
        { kid: 'twin' },
        { kid: 'twin' }
      ]
    }
  })
  t.equal(logged.error.length, 0, 'skipping is not failing')
})

t.test('a document without one usable key is a successful fetch of no keys, with a warning', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: [] })
  issuer.addEntry({ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' })
  const { set, logged } = keySetFor(t, issuer, new TestClock())
  await set.start()
  t.equal(set.lookup('hmac'), undefined)
  t.equal(set.lookup(undefined), undefined)
  t.match(logged.warn, [{ details: { skipped: [{ kid: 'hmac' }] } }, { details: { issuer: issuer.issuer }, message: /no usable signing key/ }])
  t.same(logged.error, [])
})

t.test('an issuer that publishes private members: only the public key is used, and it verifies', async (t) => {
  const key = generateIssuerKey('RS256')
  key.jwk = { ...key.privateKey.export({ format: 'jwk' }), kid: key.kid, alg: 'RS256' }
  const issuer = await startLocalIssuer(t, { keys: [key] })
  const { set } = keySetFor(t, issuer, new TestClock())
  await set.start()
  const found = set.lookup(key.kid) as RingKey
  t.ok(verifies(found, await issuer.sign({})))
  t.equal(found.canSign, false)
  t.same(Object.keys(found.publicJwk ?? {}).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use'])
})

t.test('stop aborts a fetch under way, and no fetch starts afterwards', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.hang()
  const clock = new TestClock()
  const { set, logged } = keySetFor(t, issuer, clock, { timeoutMs: 60_000 })
  const starting = set.start()
  await until(() => issuer.requests === 1)
  await set.stop()
  await starting
  t.same(logged.error, [], 'an abandoned fetch is no outage')
  clock.advance(COOLDOWN * 10)
  unavailable(t, () => set.lookup(issuer.keys[0].kid), '1', 'no keys; Retry-After at least 1')
  await set.start()
  t.equal(set.fetchCount, 1, 'neither a lookup nor start fetches once stopped')
  t.equal(issuer.requests, 1)
})

t.test('timers refresh at freshUntil, retry after the cooldown on failure, and stop with stop()', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.setHeaders({ 'cache-control': 'no-store' })
  // Real time here: the timers are what is tested, with lifetimes of a few milliseconds.
  const { set, logged } = keySetFor(t, issuer, systemClock, { minAgeMs: 20, cooldownMs: 20, timeoutMs: 1000 })
  await set.start()
  await until(() => issuer.requests >= 3)
  issuer.setStatus(500)
  const failingFrom = issuer.requests
  await until(() => issuer.requests >= failingFrom + 3)
  t.equal(logged.error.length, 1, 'retried after each cooldown, logged once')
  issuer.setStatus(200)
  await until(() => logged.info.length === 1)
  await set.stop()
  const stoppedAt = issuer.requests
  await sleep(100)
  t.equal(issuer.requests, stoppedAt, 'no fetch after stop')
})
