import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import type { AuthStore } from 'fastify-token-auth'
import { apiKeyApp, assertRefused, INVALID_TOKEN, type ApiKeyApp } from './helpers/api-key-app.js'
import { SCOPES } from './helpers/api-keys.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { linkTokenOf, MailOutbox } from './helpers/mail-outbox.js'
import { login } from './helpers/session.js'
import { storeTargets, type StoreTarget } from './helpers/stores.js'

// Attacks on API keys, second pass: the creator re-check, the per-user change limit and the
// cache ttl cut. Each test is one attack, and says what must hold.

const INVALID_API_KEY = 'FST_TOKEN_AUTH_INVALID_API_KEY'
const ATTACKER = '198.51.100.66'
const VICTIM = '198.51.100.77'
const MAIL_LINKS = { passwordReset: 'https://app.example/reset', emailVerification: 'https://app.example/verify' }

/** Lets the revocation sync (a 50 ms real-time timer) run a few times, so it prunes by the moved clock. */
async function letSyncRun (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200))
}

/** A promise released by hand, and one that says when the gated call reached it. */
function gate (): { reached: Promise<void>, arrive: () => void, wait: Promise<void>, release: () => void } {
  let arrive: () => void = () => {}
  let release: () => void = () => {}
  const reached = new Promise<void>((resolve) => { arrive = resolve })
  const wait = new Promise<void>((resolve) => { release = resolve })
  return { reached, arrive, wait, release }
}

/** Alice can reset her password by mail on this app. */
async function withMail (t: Test, store: AuthStore | undefined, extra: Parameters<typeof apiKeyApp>[1] = {}): Promise<ApiKeyApp & { outbox: MailOutbox }> {
  const outbox = new MailOutbox()
  const made = await apiKeyApp(t, { keyRoutes: true, ...extra, store, auth: { mail: { transport: outbox, from: 'no-reply@example.com', links: MAIL_LINKS }, ...extra.auth } })
  if ((await made.app.tokenAuth.accounts.findUserById(made.alice.id))?.email !== 'alice@example.com') {
    await made.app.tokenAuth.accounts.updateUser(made.alice.id, { email: 'alice@example.com' })
  }
  return { ...made, outbox }
}

/** Alice takes her account back by mail: the reset raises her token version, then revokes every key. */
async function resetPassword (made: ApiKeyApp & { outbox: MailOutbox }, t: Test): Promise<void> {
  t.equal((await made.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: 'alice@example.com' }, remoteAddress: VICTIM })).statusCode, 202)
  const token = linkTokenOf(await made.outbox.next('alice@example.com'))
  t.equal((await made.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, new_password: 'a brand new passphrase' }, remoteAddress: VICTIM })).statusCode, 204)
}

/** What must hold after a create raced a revocation: the key was refused, or it is revoked. */
async function assertNoLiveKey (t: Test, made: ApiKeyApp, minted: { statusCode: number, json: () => any }): Promise<void> {
  t.equal((await made.app.tokenAuth.apiKeys.list(made.alice.id)).length, 0, 'no live key in alice\'s list')
  if (minted.statusCode === 201) {
    const use = await made.app.inject({ url: '/keyed', headers: bearer(minted.json().key), remoteAddress: ATTACKER })
    t.equal(use.statusCode, 401, `a key made by the revoked token works (got ${use.statusCode})`)
  } else {
    assertRefused(t, minted as any, 401, /^Bearer realm="api", error="invalid_token"/, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  }
}

function forEachStore (name: string, body: (t: Test, target: StoreTarget) => Promise<void>): void {
  for (const target of storeTargets()) {
    t.test(`${name} [${target.name}]`, { skip: target.skip }, async (t) => { await body(t, target) })
  }
}

// ---------------------------------------------------------------------------------------------
// Findings (fail on main).

t.test('a thief churning keys with a stolen token cannot stop the user revoking them: revocations are not refused by the per-user change limit', async (t) => {
  const { app, alice } = await apiKeyApp(t, { keyRoutes: true })
  const stolen = (await login(app, {}, ATTACKER)).accessToken
  const mine = (await login(app, {}, VICTIM)).accessToken
  // The thief makes a key, then renames it 29 times: 30 changes in the minute.
  const made = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  t.equal(made.statusCode, 201)
  for (let i = 0; i < 29; i++) {
    await app.inject({ method: 'PATCH', url: `/auth/api-keys/${String(made.json().api_key.id)}`, headers: bearer(stolen), payload: { name: `b${i}` }, remoteAddress: ATTACKER })
  }
  // Alice sees the key in her list and revokes it, one and all.
  const one = await app.inject({ method: 'DELETE', url: `/auth/api-keys/${String(made.json().api_key.id)}`, headers: bearer(mine), remoteAddress: VICTIM })
  const all = await app.inject({ method: 'DELETE', url: '/auth/api-keys', headers: bearer(mine), remoteAddress: VICTIM })
  t.equal(one.statusCode, 204, `revoking the thief's key: ${one.statusCode} ${one.body}`)
  t.equal(all.statusCode, 200, `revoking every key: ${all.statusCode} ${all.body}`)
  t.equal((await app.tokenAuth.apiKeys.list(alice.id)).length, 0, 'the thief\'s key is still live')
})

t.test('a token the application signed for a user (no sid, no ver) cannot mint a key that survives a password reset on an instance not yet synced', async (t) => {
  const store = (await storeTargets()[0].create(t))
  const clock = new TestClock(1_900_000_000_000)
  const a = await withMail(t, store, { clock })
  const b = await withMail(t, store, { clock, auth: { revocation: { syncInterval: '30m', maxStaleness: '1h' } } })
  // The application hands alice a token of its own (app.tokenAuth.sign); the attacker holds it.
  const stolen = await a.app.tokenAuth.sign({ sub: a.alice.id })
  t.equal((await b.app.inject({ url: '/keyed', headers: bearer(stolen) })).statusCode, 200, 'the token is good before the reset')
  await resetPassword(a, t)
  t.equal((await a.app.inject({ url: '/keyed', headers: bearer(stolen) })).statusCode, 401, 'the reset revoked it where synced')
  const minted = await b.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  // Without a session and version nothing could be checked after the insert: such a token makes no key at all.
  assertRefused(t, minted, 403, /^Bearer realm="api", error="insufficient_scope"/, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.equal((await a.app.tokenAuth.apiKeys.list(a.alice.id)).length, 0, 'no live key in alice\'s list')
})

t.test('a key made and revoked on the spot by the creator re-check leaves an audit event naming it', async (t) => {
  const store = (await storeTargets()[0].create(t))
  const clock = new TestClock(1_900_000_000_000)
  const a = await withMail(t, store, { clock })
  const b = await withMail(t, store, { clock, auth: { revocation: { syncInterval: '30m', maxStaleness: '1h' } } })
  const stolen = (await login(a.app, {}, ATTACKER)).accessToken
  await resetPassword(a, t)
  const minted = await b.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  t.equal(minted.statusCode, 401)
  t.equal((await store.apiKeys.listByUser(a.alice.id)).length, 0, 'not live')
  // The row is in the store (revoked); an attempt with a revoked token to mint a key is worth an event.
  const named = b.events.filter((event) => event.type.startsWith('api_key.'))
  t.match(named, [{ type: 'api_key.revoked', userId: a.alice.id, by: 'token_revoked', keyIds: [String] }], 'the key is named as revoked because its token was')
})

t.test('clockTolerance 0: a disable whose store write is slow cannot leave a cached key for the disabled user after its revocation is pruned', async (t) => {
  const { app, alice, store, clock } = await apiKeyApp(t, {
    apiKeys: { scopes: SCOPES, cache: { ttl: '1m' } },
    auth: { accessTokenTtl: '1m', maxTokenTtl: '1m', clockTolerance: 0 }
  })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'ci', scopes: [] })
  // The disable reads the clock, then its write waits (a row lock, a slow link) for 5 s.
  const update = store.users.update
  const slow = gate()
  store.users.update = async (...args) => { slow.arrive(); await slow.wait; return await update(...args) }
  const disabling = app.tokenAuth.accounts.setDisabled(alice.id, true)
  await slow.reached
  clock.advance(5_000)
  // Meanwhile a request reads the key (the user still enabled) and caches it for cache.ttl.
  t.equal((await app.inject({ url: '/keyed', headers: bearer(key) })).statusCode, 200, 'admitted before the disable is written')
  slow.release()
  await disabling
  store.users.update = update
  // The user revocation lives maxTokenTtl + clockTolerance from the clock read before the write
  // (gone at +60 s); the entry was filled at +5 s and lives to +65 s. Now: +62 s.
  clock.advance(57_000)
  await letSyncRun()
  const res = await app.inject({ url: '/keyed', headers: bearer(key), remoteAddress: ATTACKER })
  assertRefused(t, res, 401, INVALID_TOKEN, INVALID_API_KEY, 'a disabled user\'s key must not work from the cache once the revocation is pruned')
})

// ---------------------------------------------------------------------------------------------
// Attacks that hold (pass on main).

forEachStore('a password reset committing between the key insert and the creator re-check leaves no live key', async (t, target) => {
  const made = await withMail(t, await target.create(t))
  const stolen = (await login(made.app, {}, ATTACKER)).accessToken
  const insert = made.store.apiKeys.insert
  const held = gate()
  made.store.apiKeys.insert = async (...args) => { const done = await insert(...args); held.arrive(); await held.wait; return done }
  const minting = made.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  await held.reached
  made.store.apiKeys.insert = insert
  await resetPassword(made, t)
  held.release()
  await assertNoLiveKey(t, made, await minting)
})

forEachStore('a password reset between the version raise and revoke-all, with the insert and re-check in that gap, leaves no live key', async (t, target) => {
  const made = await withMail(t, await target.create(t))
  const stolen = (await login(made.app, {}, ATTACKER)).accessToken
  // The reset's revoke-all waits until the create has inserted and re-checked.
  const revokeAll = made.store.apiKeys.revokeAllByUser
  const held = gate()
  made.store.apiKeys.revokeAllByUser = async (...args) => { held.arrive(); await held.wait; return await revokeAll(...args) }
  const resetting = resetPassword(made, t)
  await held.reached
  const minted = await made.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  held.release()
  await resetting
  made.store.apiKeys.revokeAllByUser = revokeAll
  await assertNoLiveKey(t, made, minted)
})

forEachStore('a password reset committing between the creator re-check and the answer: the reset revokes the key', async (t, target) => {
  const made = await withMail(t, await target.create(t))
  const stolen = (await login(made.app, {}, ATTACKER)).accessToken
  const listByUser = made.store.families.listByUser
  const held = gate()
  made.store.families.listByUser = async (...args) => { const found = await listByUser(...args); held.arrive(); await held.wait; return found }
  const minting = made.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  await held.reached
  made.store.families.listByUser = listByUser
  await resetPassword(made, t)
  held.release()
  await assertNoLiveKey(t, made, await minting)
})

forEachStore('a session ended from another device while a create is between insert and re-check leaves no live key', async (t, target) => {
  const made = await withMail(t, await target.create(t))
  const stolen = await login(made.app, {}, ATTACKER)
  const mine = (await login(made.app, {}, VICTIM)).accessToken
  const insert = made.store.apiKeys.insert
  const held = gate()
  made.store.apiKeys.insert = async (...args) => { const done = await insert(...args); held.arrive(); await held.wait; return done }
  const minting = made.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen.accessToken), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  await held.reached
  made.store.apiKeys.insert = insert
  const sessions = (await made.app.inject({ url: '/auth/sessions', headers: bearer(mine) })).json()
  const theirs = (sessions.sessions as Array<{ id: string, current: boolean }>).filter((session) => !session.current)
  t.equal(theirs.length, 1)
  t.equal((await made.app.inject({ method: 'DELETE', url: `/auth/sessions/${theirs[0].id}`, headers: bearer(mine) })).statusCode, 204)
  held.release()
  await assertNoLiveKey(t, made, await minting)
})

forEachStore('two instances, one not synced: logout everywhere racing a create leaves no live key made by the old token', async (t, target) => {
  const store = await target.create(t)
  const clock = new TestClock(1_900_000_000_000)
  const a = await withMail(t, store, { clock })
  const b = await withMail(t, store, { clock, auth: { revocation: { syncInterval: '30m', maxStaleness: '1h' } } })
  const stolen = (await login(a.app, {}, ATTACKER)).accessToken
  const insert = store.apiKeys.insert
  const held = gate()
  store.apiKeys.insert = async (...args) => { const done = await insert(...args); held.arrive(); await held.wait; return done }
  const minting = b.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  await held.reached
  store.apiKeys.insert = insert
  const mine = (await login(a.app, {}, VICTIM)).accessToken
  t.equal((await a.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(mine) })).statusCode, 204)
  held.release()
  await assertNoLiveKey(t, a, await minting)
})

t.test('a 429 from the change limit leaves no key behind, and counts no application call', async (t) => {
  const { app, alice, store } = await apiKeyApp(t, { keyRoutes: true })
  const token = (await login(app)).accessToken
  const codes: number[] = []
  for (let i = 0; i < 31; i++) {
    codes.push((await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(token), payload: { name: `k${i}`, scopes: [] } })).statusCode)
  }
  t.equal(codes.filter((code) => code === 201).length, 30)
  t.equal(codes.at(-1), 429)
  t.equal((await store.apiKeys.listByUser(alice.id)).length, 30, 'no row for the refused create')
  // The application's own calls and an admin's revoke-all are not refused for the user's churn.
  await app.tokenAuth.apiKeys.create(alice.id, { name: 'app', scopes: [] })
  t.equal(await app.tokenAuth.apiKeys.revokeAll(alice.id, {}, 'admin'), 31)
})

t.test('the change limit is per user, not per header spelling or token: a second session of the same user shares it', async (t) => {
  const { app } = await apiKeyApp(t, { keyRoutes: true })
  const first = (await login(app, {}, ATTACKER)).accessToken
  const second = (await login(app, {}, '203.0.113.9')).accessToken
  for (let i = 0; i < 30; i++) {
    const headers = i % 2 === 0 ? { Authorization: `Bearer ${first}` } : { AUTHORIZATION: `bearer ${second}` }
    await app.inject({ method: 'POST', url: '/auth/api-keys', headers, payload: { name: `k${i}`, scopes: [] } })
  }
  const res = await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(second), payload: { name: 'more', scopes: [] }, remoteAddress: '203.0.113.10' })
  assertRefused(t, res, 429, undefined, 'FST_TOKEN_AUTH_RATE_LIMITED')
})

t.test('the creator re-check refusal logs and answers neither the key nor its hash', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const store = (await storeTargets()[0].create(t))
  const clock = new TestClock(1_900_000_000_000)
  const a = await withMail(t, store, { clock })
  const b = await withMail(t, store, { clock, fastify: { logger: { level: 'trace', stream } }, auth: { revocation: { syncInterval: '30m', maxStaleness: '1h' } } })
  const stolen = (await login(a.app, {}, ATTACKER)).accessToken
  await resetPassword(a, t)
  const minted = await b.app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(stolen), payload: { name: 'backdoor', scopes: [] }, remoteAddress: ATTACKER })
  t.equal(minted.statusCode, 401)
  const stored = (b.events as unknown[]).concat(lines, [minted.body])
  // The row's hash is never read back here; look for the key prefix and any 64-hex string.
  for (const text of stored.map((item) => typeof item === 'string' ? item : JSON.stringify(item))) {
    t.notMatch(text, /fta_live_[0-9A-Za-z]{10}/, 'no key')
    t.notMatch(text, /\b[0-9a-f]{64}\b/, 'no hash')
  }
})
