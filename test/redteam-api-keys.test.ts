import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { createMemoryStore, type AuthStore } from 'fastify-token-auth'
import { generateKey, hashKey } from '../lib/api-keys/key-format.js'
import { apiKeyApp, assertRefused, INVALID_TOKEN } from './helpers/api-key-app.js'
import { countLookups, SCOPES } from './helpers/api-keys.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { linkTokenOf, MailOutbox } from './helpers/mail-outbox.js'
import { login } from './helpers/session.js'

// Attacks on API keys: each test is one attack, and says what must hold.

const INVALID_API_KEY = 'FST_TOKEN_AUTH_INVALID_API_KEY'
const NOT_ALLOWED = 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED'
const ATTACKER = '198.51.100.66'
const VICTIM = '198.51.100.77'

/** Lets the revocation sync (a 50 ms real-time timer) run a few times, so it prunes by the moved clock. */
async function letSyncRun (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200))
}

const MAIL = { transport: new MailOutbox(), from: 'no-reply@example.com', links: { passwordReset: 'https://app.example/reset', emailVerification: 'https://app.example/verify' } }

t.test('cache.ttl longer than the user revocation: a disabled user\'s cached key is refused after the revocation is pruned', async (t) => {
  // Short-lived access tokens (what the docs advise), and a longer key cache to save lookups:
  // the user revocation a disable writes lives maxTokenTtl + clockTolerance, the cache entry cache.ttl.
  const { app, alice, clock } = await apiKeyApp(t, {
    apiKeys: { scopes: SCOPES, cache: { ttl: '30m' } },
    auth: { accessTokenTtl: '1m', maxTokenTtl: '1m' }
  })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'ci', scopes: ['reports:read'] })
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).statusCode, 200, 'cached')
  await app.tokenAuth.accounts.setDisabled(alice.id, true)
  // Nobody uses the key while the user revocation is in the list; then the list prunes it.
  clock.advance(5 * 60_000)
  await letSyncRun()
  const res = await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: ATTACKER })
  assertRefused(t, res, 401, INVALID_TOKEN, INVALID_API_KEY, 'a disabled user\'s key must not keep working from the cache')
})

t.test('cache.ttl longer than the user revocation: a role taken away takes its scopes from a cached key for good', async (t) => {
  const { app, alice, clock } = await apiKeyApp(t, {
    apiKeys: { scopes: SCOPES, cache: { ttl: '30m' } },
    auth: { accessTokenTtl: '1m', maxTokenTtl: '1m' }
  })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'ci', scopes: ['reports:write'] })
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).json().scope, 'reports:write')
  await app.tokenAuth.accounts.updateUser(alice.id, { roles: ['reader'] })
  clock.advance(5 * 60_000)
  await letSyncRun()
  const res = await app.inject({ url: '/keyed', headers: bearer(key) })
  t.equal(res.statusCode, 200)
  t.notOk('scope' in res.json(), `reports:write is no longer granted by alice's roles; got scope ${String(res.json().scope)}`)
  t.same(res.json().roles, ['reader'], 'and the roles are as stored now')
})

t.test('cache.ttl longer than the user revocation: a deleted user\'s cached key is refused after the revocation is pruned', async (t) => {
  const { app, alice, clock } = await apiKeyApp(t, {
    apiKeys: { scopes: SCOPES, cache: { ttl: '30m' } },
    auth: { accessTokenTtl: '1m', maxTokenTtl: '1m' }
  })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'ci', scopes: [] })
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).statusCode, 200, 'cached')
  await app.tokenAuth.accounts.deleteUser(alice.id)
  clock.advance(5 * 60_000)
  await letSyncRun()
  const res = await app.inject({ url: '/keyed', headers: bearer(key) })
  assertRefused(t, res, 401, INVALID_TOKEN, INVALID_API_KEY, 'a deleted user\'s key must not keep working from the cache')
})

/** Two instances on one store; B syncs its revocations rarely (within maxStaleness, as configured). */
async function twoInstances (t: Test): Promise<{ a: Awaited<ReturnType<typeof apiKeyApp>>, b: Awaited<ReturnType<typeof apiKeyApp>>, store: AuthStore, outbox: MailOutbox }> {
  const store = createMemoryStore()
  const clock = new TestClock(1_900_000_000_000)
  const outbox = new MailOutbox()
  const mail = { ...MAIL, transport: outbox }
  const a = await apiKeyApp(t, { store, clock, keyRoutes: true, auth: { mail } })
  const b = await apiKeyApp(t, { store, clock, keyRoutes: true, auth: { mail, revocation: { syncInterval: '30m', maxStaleness: '1h' } } })
  await a.app.tokenAuth.accounts.updateUser(a.alice.id, { email: 'alice@example.com' })
  return { a, b, store, outbox }
}

t.test('a password reset takes the account back: a stolen access token cannot mint a key that survives it on an instance not yet synced', async (t) => {
  const { a, b, outbox } = await twoInstances(t)
  // The attacker holds alice's access token.
  const stolen = (await login(a.app, {}, ATTACKER)).accessToken
  // Alice takes her account back on instance A: every key revoked, every session ended.
  t.equal((await a.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'alice@example.com' } })).statusCode, 202)
  const token = linkTokenOf(await outbox.next('alice@example.com'))
  t.equal((await a.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, new_password: 'a brand new passphrase' } })).statusCode, 204)
  // Instance B has not synced the reset's revocation yet (it will within maxStaleness).
  const minted = await b.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: ['reports:read'] }, remoteAddress: ATTACKER })
  t.not(minted.statusCode, 201, 'a token older than the reset must not create a key: the store knows the user\'s token version')
  if (minted.statusCode === 201) {
    // The key outlives the reset on every instance.
    const use = await a.app.inject({ url: '/keyed/reports', headers: bearer(minted.json().key), remoteAddress: ATTACKER })
    t.equal(use.statusCode, 401, `the backdoor key works after the reset (got ${use.statusCode})`)
    t.equal((await a.app.tokenAuth.apiKeys.list(a.alice.id)).length, 0, 'alice\'s key list after the reset shows the backdoor')
  }
})

t.test('log out everywhere then revoke all keys: a stolen access token cannot mint a fresh key on an instance not yet synced', async (t) => {
  const { a, b } = await twoInstances(t)
  const stolen = (await login(a.app, {}, ATTACKER)).accessToken
  const mine = (await login(a.app, {}, VICTIM)).accessToken
  t.equal((await a.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(mine) })).statusCode, 204)
  t.equal((await a.app.inject({ method: 'DELETE', url: '/auth/api-keys', headers: bearer((await login(a.app, {}, VICTIM)).accessToken) })).statusCode, 200)
  const minted = await b.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  t.not(minted.statusCode, 201, 'a token the user revoked (logout everywhere) must not create a key on any instance')
})

t.test('200 concurrent guesses from one address reach the store at most failuresPerAddress times, then 429', async (t) => {
  const { app, store } = await apiKeyApp(t, { apiKeys: { scopes: SCOPES, failuresPerAddress: 5 } })
  const lookups = countLookups(store)
  const guesses = Array.from({ length: 200 }, () => app.inject({ url: '/keyed', headers: bearer(generateKey('fta_live_').key), remoteAddress: ATTACKER }))
  const statuses = (await Promise.all(guesses)).map((res) => res.statusCode)
  t.equal(statuses.filter((status) => status === 401).length, 5, 'five refusals')
  t.equal(statuses.filter((status) => status === 429).length, 195, 'the rest throttled')
  t.ok(lookups.count <= 5, `at most 5 lookups (got ${lookups.count})`)
})

t.test('a valid key owner cannot launder guesses: guess, valid, guess, valid… still stops at the allowance', async (t) => {
  // No cache: every use of the good key is a lookup that takes its own count back, and only it.
  const { app, alice } = await apiKeyApp(t, { apiKeys: { scopes: SCOPES, failuresPerAddress: 5, cache: { maxEntries: 0 } } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'mine', scopes: [] })
  const statuses: string[] = []
  for (let round = 1; round <= 8; round++) {
    statuses.push(`guess ${(await app.inject({ url: '/keyed', headers: bearer(generateKey('fta_live_').key), remoteAddress: ATTACKER })).statusCode}`)
    statuses.push(`valid ${(await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: ATTACKER })).statusCode}`)
  }
  // Four guesses and four good uses, the fifth guess uses the allowance up: from then on the
  // address is throttled, the good key's lookups too (its owner shares the address with the guesser).
  t.same(statuses, [
    'guess 401', 'valid 200', 'guess 401', 'valid 200', 'guess 401', 'valid 200', 'guess 401', 'valid 200',
    'guess 401', 'valid 429', 'guess 429', 'valid 429', 'guess 429', 'valid 429', 'guess 429', 'valid 429'
  ])
})

t.test('mixing malformed keys (bad checksum, short, padded) into guesses buys no extra lookups', async (t) => {
  const { app, store } = await apiKeyApp(t, { apiKeys: { scopes: SCOPES, failuresPerAddress: 4 } })
  const lookups = countLookups(store)
  const good = generateKey('fta_live_').key
  const values = [`${good.slice(0, -1)}x`, 'fta_live_short', `${good}==`, good, generateKey('fta_live_').key, generateKey('fta_live_').key]
  const statuses: number[] = []
  for (const value of values) statuses.push((await app.inject({ url: '/keyed', headers: bearer(value), remoteAddress: ATTACKER })).statusCode)
  t.same(statuses, [401, 401, 401, 401, 429, 429])
  t.equal(lookups.count, 1, 'only the well-formed guess was looked up')
})

t.test('X-Forwarded-For without trustProxy: an attacker cannot spend another address\'s allowance', async (t) => {
  const { app, alice } = await apiKeyApp(t, { apiKeys: { scopes: SCOPES, failuresPerAddress: 3 } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'victim', scopes: [] })
  for (let i = 0; i < 10; i++) {
    await app.inject({ url: '/keyed', headers: { ...bearer(generateKey('fta_live_').key), 'x-forwarded-for': VICTIM }, remoteAddress: ATTACKER })
  }
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: VICTIM })).statusCode, 200, 'the victim\'s address is untouched')
  const attacker = await app.inject({ url: '/keyed', headers: bearer(generateKey('fta_live_').key), remoteAddress: ATTACKER })
  t.equal(attacker.statusCode, 429, 'the attacker\'s own address is the one throttled (accepted, like passwords)')
  t.ok(Number(attacker.headers['retry-after']) > 0)
})

t.test('with allowByDefault, the package\'s own routes (and their HEAD twins) still refuse a key, before any lookup', async (t) => {
  const { app, alice, store } = await apiKeyApp(t, {
    apiKeys: { scopes: SCOPES, allowByDefault: true },
    keyRoutes: true,
    auth: { mail: MAIL }
  })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'ci', scopes: ['reports:read'] })
  const lookups = countLookups(store)
  const routes: Array<[string, string, unknown?]> = [
    ['POST', '/auth/api-keys', { name: 'child', scopes: [] }],
    ['GET', '/auth/api-keys'],
    ['HEAD', '/auth/api-keys'],
    ['DELETE', '/auth/api-keys'],
    ['GET', '/auth/sessions'],
    ['HEAD', '/auth/sessions'],
    ['POST', '/auth/logout-all'],
    ['POST', '/auth/password', { current_password: 'x', new_password: 'another good password' }],
    ['POST', '/auth/email/change', { new_email: 'mallory@example.com', current_password: 'x' }]
  ]
  for (const [method, url, payload] of routes) {
    const res = await app.inject({ method: method as 'GET', url, headers: bearer(key), ...(payload === undefined ? {} : { payload: payload as object }), remoteAddress: ATTACKER })
    t.equal(res.statusCode, 401, `${method} ${url}`)
    if (method !== 'HEAD') t.equal(res.json().code, NOT_ALLOWED, `${method} ${url}: not allowed`)
  }
  t.equal(lookups.count, 0, 'no lookup')
  t.equal((await app.tokenAuth.apiKeys.list(alice.id)).length, 1, 'no key minted')
})

t.test('unknown, malformed, revoked, expired and disabled-user keys: status, headers and body all identical', async (t) => {
  const { app, alice, bob, clock } = await apiKeyApp(t)
  const { key: revoked, apiKey } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'r', scopes: [] })
  await app.tokenAuth.apiKeys.revoke(alice.id, apiKey.id)
  const { key: expired } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'e', scopes: [], expiresIn: 60 })
  const { key: disabled } = await app.tokenAuth.apiKeys.create(bob.id, { name: 'd', scopes: [] })
  await app.tokenAuth.accounts.setDisabled(bob.id, true)
  clock.advance(61_000)
  const answers = []
  for (const key of [generateKey('fta_live_').key, 'fta_live_x', revoked, expired, disabled]) {
    const res = await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: ATTACKER })
    const { date: _date, ...headers } = res.headers
    answers.push({ status: res.statusCode, headers, body: res.payload })
  }
  for (const answer of answers.slice(1)) t.same(answer, answers[0])
})

t.test('no log line at trace level, no event and no list answer holds a key or its hash', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const { app, alice } = await apiKeyApp(t, { keyRoutes: true, fastify: { logger: { level: 'trace', stream } } })
  const token = (await login(app)).accessToken
  const created = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(token), payload: { name: 'ci', scopes: ['reports:read'] } })
  t.equal(created.statusCode, 201)
  const { key, api_key: view } = created.json()
  await app.inject({ url: '/keyed', headers: bearer(key) })
  await app.inject({ url: '/no-keys', headers: bearer(key) })
  await app.inject({ url: '/keyed', headers: bearer(`${key.slice(0, -1)}x`) })
  await app.inject({ url: '/keyed', headers: { authorization: `Bearer ${key}`, cookie: `__Host-access-token=${key}` } })
  await app.inject({ method: 'DELETE', url: `/auth/api-keys/${String(view.id)}`, headers: bearer(token) })
  await app.inject({ url: '/keyed', headers: bearer(key) })
  const list = await app.inject({ url: '/auth/api-keys', headers: bearer(token) })
  t.ok(lines.length > 10, 'the logger wrote')
  const secrets = [key, key.slice(15), hashKey(key)]
  const everything = [lines.join(''), JSON.stringify(list.json()), JSON.stringify(await app.tokenAuth.apiKeys.list(alice.id))]
  for (const secret of secrets) for (const text of everything) t.notOk(text.includes(secret), `${secret.slice(0, 12)}… nowhere`)
})

t.test('fuzzed route bodies, ids and Bearer values never get a 500', async (t) => {
  const { app } = await apiKeyApp(t, { keyRoutes: true })
  const token = (await login(app)).accessToken
  const bodies: unknown[] = [
    null, [], 'x', 42, {}, { name: '' }, { name: ' ', scopes: [] }, { name: 'a'.repeat(101), scopes: [] }, { name: '\u0000', scopes: [] },
    { name: '\ud800', scopes: [] }, { name: 'ok', scopes: ['__proto__'] }, { name: 'ok', scopes: ['constructor'] }, { name: 'ok', scopes: 'reports:read' },
    { name: 'ok', scopes: [1] }, { name: 'ok', scopes: ['reports:read', 'reports:read'] }, { name: 'ok', scopes: Array(65).fill('x') },
    { name: 'ok', scopes: [], expires_in: 59 }, { name: 'ok', scopes: [], expires_in: 1e300 }, { name: 'ok', scopes: [], expires_in: 60.5 },
    { name: 'ok', scopes: [], expires_in: '600' }, { name: 'ok', scopes: [], expires_in: null }, { name: 'ok', scopes: [], extra: 1 },
    { name: { toString: 1 }, scopes: [] }, { name: '😀'.repeat(100), scopes: [] }, { name: 'ok', scopes: ['admin:all'] }, { __proto__: { name: 'x' }, scopes: [] }
  ]
  for (const body of bodies) {
    const res = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    t.ok(res.statusCode < 500, `POST ${JSON.stringify(body)?.slice(0, 40)}: ${res.statusCode}`)
  }
  for (const id of ['x', 'A'.repeat(16), '%00'.repeat(16), '..%2F..%2Fusers', 'A'.repeat(10_000), '__proto__', 'constructor00000']) {
    for (const method of ['PATCH', 'DELETE'] as const) {
      const res = await app.inject({ method, url: `/auth/api-keys/${id}`, headers: bearer(token), ...(method === 'PATCH' ? { payload: { name: 'n' } } : {}) })
      t.ok(res.statusCode < 500, `${method} ${id.slice(0, 20)}: ${res.statusCode}`)
    }
  }
  for (const value of ['fta_live_', `fta_live_${'A'.repeat(100_000)}`, 'fta_live_\u0000', 'fta_live_é', 'FTA_LIVE_' + 'A'.repeat(49), 'fta_live_' + '/'.repeat(49), 'fta_live_a b', 'fta_live_' + '='.repeat(60)]) {
    const res = await app.inject({ url: '/keyed', headers: { authorization: `Bearer ${value}` }, remoteAddress: `192.0.2.${value.length % 250}` })
    t.ok(res.statusCode < 500, `Bearer ${value.slice(0, 14)}…(${value.length}): ${res.statusCode}`)
  }
})

t.test('a lookup that read the key before its revocation and returned after it cannot leave the key usable', async (t) => {
  const { app, alice, store } = await apiKeyApp(t)
  const { key, apiKey } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const findByHash = store.apiKeys.findByHash
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  store.apiKeys.findByHash = async (hash) => {
    const found = await findByHash(hash)
    await gate
    return found
  }
  const slow = app.inject({ url: '/keyed', headers: bearer(key) })
  await new Promise((resolve) => setImmediate(resolve))
  await app.tokenAuth.apiKeys.revoke(alice.id, apiKey.id)
  release()
  t.equal((await slow).statusCode, 200, 'the request in flight was admitted (it started before the revocation)')
  store.apiKeys.findByHash = findByHash
  const after = await app.inject({ url: '/keyed', headers: bearer(key) })
  assertRefused(t, after, 401, INVALID_TOKEN, INVALID_API_KEY, 'refused from the next request on')
})

t.test('a cookie session needs the CSRF header to create, rename or revoke keys', async (t) => {
  const { app, alice } = await apiKeyApp(t, { keyRoutes: true })
  const { apiKey } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  const { cookieHeader } = await login(app)
  const headers = { cookie: cookieHeader, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }
  const attempts = [
    await app.inject({ method: 'POST', url: '/auth/api-keys', headers, payload: { name: 'csrf', scopes: [] } }),
    await app.inject({ method: 'PATCH', url: `/auth/api-keys/${apiKey.id}`, headers, payload: { name: 'pwned' } }),
    await app.inject({ method: 'DELETE', url: `/auth/api-keys/${apiKey.id}`, headers }),
    await app.inject({ method: 'DELETE', url: '/auth/api-keys', headers })
  ]
  for (const res of attempts) t.equal(res.statusCode, 403, `${res.statusCode} ${res.json().code}`)
  t.match(await app.tokenAuth.apiKeys.list(alice.id), [{ id: apiKey.id, name: 'k' }], 'nothing changed')
})

t.test('another user\'s key id: rename and revoke answer exactly as for an unknown id', async (t) => {
  const { app, alice, bob } = await apiKeyApp(t, { keyRoutes: true })
  const { apiKey } = await app.tokenAuth.apiKeys.create(bob.id, { name: 'bob', scopes: [] })
  const token = (await login(app)).accessToken
  for (const method of ['PATCH', 'DELETE'] as const) {
    const payload = method === 'PATCH' ? { payload: { name: 'x' } } : {}
    const other = await app.inject({ method, url: `/auth/api-keys/${apiKey.id}`, headers: bearer(token), ...payload })
    const unknown = await app.inject({ method, url: '/auth/api-keys/AAAAAAAAAAAAAAAA', headers: bearer(token), ...payload })
    t.equal(other.statusCode, 404)
    t.same(other.json(), unknown.json())
  }
  t.match(await app.tokenAuth.apiKeys.list(bob.id), [{ name: 'bob' }])
  t.equal(alice.id === bob.id, false)
})

t.test('25 concurrent creates over HTTP stop at maxPerUser', async (t) => {
  const { app, alice } = await apiKeyApp(t, { keyRoutes: true, apiKeys: { scopes: SCOPES, maxPerUser: 5 } })
  const token = (await login(app)).accessToken
  // Under the 30 key changes a user may make per minute, so that only maxPerUser refuses.
  const results = await Promise.all(Array.from({ length: 25 }, (_, i) => app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(token), payload: { name: `k${i}`, scopes: [] } })))
  t.equal(results.filter((res) => res.statusCode === 201).length, 5)
  t.equal(results.filter((res) => res.statusCode === 409).length, 20)
  t.equal((await app.tokenAuth.apiKeys.list(alice.id)).length, 5)
})

t.test('one session cannot churn keys without limit: the 31st creation in a minute is 429 with Retry-After, and revoking still works', async (t) => {
  const { app, alice } = await apiKeyApp(t, { keyRoutes: true })
  const token = (await login(app)).accessToken
  for (let i = 0; i < 30; i++) {
    const created = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(token), payload: { name: 'churn', scopes: [] } })
    t.equal(created.statusCode, 201)
    t.equal((await app.inject({ method: 'DELETE', url: `/auth/api-keys/${String(created.json().api_key.id)}`, headers: bearer(token) })).statusCode, 204)
  }
  const refused = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(token), payload: { name: 'churn', scopes: [] } })
  assertRefused(t, refused, 429, undefined, 'FST_TOKEN_AUTH_RATE_LIMITED')
  t.equal(refused.headers['retry-after'], '60')
  t.equal((await app.tokenAuth.apiKeys.list(alice.id)).length, 0, 'nothing made by the refused request')
})

t.test('a key name cannot be invisible, reorder the list\'s text or break its line (zero-width, bidi controls, line and paragraph separators)', async (t) => {
  const { app, alice } = await apiKeyApp(t)
  for (const name of ['\u200b', '\u200b\u200c\u200d\u2060', 'ci\u202etxt.exe', '\ufeff', 'one\u2028two', 'one\u2029two']) {
    await t.rejects(app.tokenAuth.apiKeys.create(alice.id, { name, scopes: [] }), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST' }, encodeURIComponent(name))
  }
})
