import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createAuthCore, createMemoryStore, mfaRoutes, type AuthStore, type TokenAuthOptions } from 'fastify-token-auth'
import { buildApp, PASSWORD, SECRET } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { bearer } from './helpers/forge.js'
import { generateSecretKey } from './helpers/mfa-keys.js'
import {
  ADDRESS, assertRefused, INVALID_TOKEN, MFA_KEY, mfaApp, mfaRequest, ORIGIN, passwordSession, totpNow
} from './helpers/mfa-app.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'
import { contextOf as coreContextOf, mfaCore, passwordSession as coreSession } from './helpers/mfa.js'
import { newFamily, newToken } from '../lib/store/contract/case.js'

// Attacks on the management of second factors and on how they are kept. Each test is one
// attack, and says what must hold.

const TOKEN_REVOKED = 'FST_TOKEN_AUTH_TOKEN_REVOKED'
const NEW_PASSWORD = 'a brand new passphrase for alice'

/**
 * Two instances of one service on one store. Neither polls the revocations during a test (as
 * an instance between two polls): each knows at once what it did itself, and only that.
 */
async function twoInstances (t: Test): Promise<{ a: FastifyInstance, b: FastifyInstance, store: AuthStore, clock: TestClock }> {
  const revocation = { syncInterval: '30m', maxStaleness: '1h' }
  const { app: a, store, clock } = await mfaApp(t, { auth: { revocation } })
  const b = await buildApp(t, {
    auth: {
      store,
      clock,
      mfa: { encryptionKey: MFA_KEY, passkeys: { rpId: 'localhost', origins: ORIGIN } },
      passwords: { hasher: new FastTestHasher() },
      revocation
    } satisfies Partial<TokenAuthOptions>,
    routes: {},
    setup: (app) => { app.register(mfaRoutes, { prefix: '/auth/mfa' }) }
  })
  return { a, b, store, clock }
}

/** Alice changes her password from her own session on instance `b`: every other session ends. */
async function changePasswordOn (t: Test, b: FastifyInstance): Promise<void> {
  const own = await passwordSession(b)
  const changed = await b.inject({ method: 'POST', url: '/auth/password', headers: bearer(own), payload: { current_password: PASSWORD, new_password: NEW_PASSWORD }, remoteAddress: ADDRESS })
  t.equal(changed.statusCode, 200, 'the password is changed')
}

t.test('a passkey registered through an instance that has not heard yet of the password change is refused: the session that asked has ended', async (t) => {
  const { a, b, store } = await twoInstances(t)
  const alice = await store.users.findByUsername('alice')
  // The taker knows the password and holds a session on instance a.
  const stolen = await passwordSession(a)
  const options = await mfaRequest(a, stolen, 'POST', '/passkeys/options', { current_password: PASSWORD })
  t.equal(options.statusCode, 200)
  await changePasswordOn(t, b)
  const registered = await mfaRequest(a, stolen, 'POST', '/passkeys', { name: 'taker', response: new SoftAuthenticator({ origin: ORIGIN }).register(options.json()) })
  assertRefused(t, registered, 401, INVALID_TOKEN, TOKEN_REVOKED)
  t.same(await store.passkeys.listByUser(alice?.id as string), [], 'no passkey outlives the session that made it')
})

t.test('TOTP confirmed through an instance that has not heard yet of a log-out-everywhere is refused, and stays pending', async (t) => {
  const { a, b, store, clock } = await twoInstances(t)
  const alice = await store.users.findByUsername('alice')
  const stolen = await passwordSession(a)
  const begun = await mfaRequest(a, stolen, 'POST', '/totp', { current_password: PASSWORD })
  t.equal(begun.statusCode, 200)
  const own = await passwordSession(b)
  t.equal((await b.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(own), remoteAddress: ADDRESS })).statusCode, 204)
  const confirmed = await mfaRequest(a, stolen, 'POST', '/totp/confirm', { code: totpNow(begun.json().secret, clock) })
  assertRefused(t, confirmed, 401, INVALID_TOKEN, TOKEN_REVOKED)
  t.equal((await store.totp.find(alice?.id as string))?.confirmedAt, null, 'the taker\'s secret never became a factor')
})

t.test('a guessable mfa.encryptionKey is refused at startup like a guessable token secret, by its place in a list too', async (t) => {
  const core = (encryptionKey: unknown, allowWeakSecret?: boolean): ReturnType<typeof createAuthCore> =>
    createAuthCore({ secret: SECRET, store: createMemoryStore(), allowWeakSecret, mfa: { encryptionKey } as never })
  const phrase = 'our mfa encryption key for production use 2024'
  t.throws(() => core(phrase), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /: mfa\.encryptionKey looks like words or a pattern/ })
  t.throws(() => core([generateSecretKey(), 'a'.repeat(40)]), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /: mfa\.encryptionKey\[1\] looks like words or a pattern/ })
  t.throws(() => core(new Uint8Array(32).fill(7)), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /: mfa\.encryptionKey looks like words or a pattern/ }, 'bytes too')
  t.ok(core(generateSecretKey()).options.mfa, 'a random key is taken')
  const allowed = core(phrase, true)
  t.same(allowed.options.weakSecrets, ['mfa.encryptionKey'], 'allowed in a test setup, and warned about by name')
})

t.test('a session older than the user\'s latest revocation changes no factor, even from a store that still lists it', async (t) => {
  const fixture = await mfaCore(t)
  const session = await coreSession(fixture)
  const context = coreContextOf(fixture.core, session)
  await (fixture.core.stateful as NonNullable<typeof fixture.core.stateful>).accounts.logOutEverywhere(fixture.alice.id, {})
  // A store whose families outlive a user-wide revocation still names the session: its version tells it ended.
  await fixture.store.families.create(newFamily(fixture.alice.id, { id: context.sessionId as string, tokenVersion: 0, createdAt: fixture.clock.now() / 1000, expiresAt: fixture.clock.now() / 1000 + 3600 }), newToken(fixture.clock.now() / 1000 + 3600))
  await t.rejects(fixture.factors.beginTotp(context, PASSWORD), { code: TOKEN_REVOKED, statusCode: 401 })
  t.equal(await fixture.store.totp.find(fixture.alice.id), undefined, 'nothing staged')
})
