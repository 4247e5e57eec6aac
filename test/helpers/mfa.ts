import type { Test } from 'tap'
import { createAuthCore, createMemoryStore, type AuthCore, type AuthCoreOptions, type AuthEvent, type AuthStore, type IssuedSession, type MfaContext, type MfaOptions, type UserRecord } from 'fastify-token-auth'
import type { SecondFactors } from '../../lib/mfa/second-factors.js'
import { totpCode, totpStep } from '../../lib/mfa/totp.js'
import { PASSWORD, SECRET } from './app.js'
import { TestClock } from './clock.js'
import { FastTestHasher } from './fast-test-hasher.js'
import { generateSecretKey } from './mfa-keys.js'

export const ADDRESS = '203.0.113.7'
export const ORIGIN = 'https://example.com'
export const MFA_KEY = generateSecretKey()

export interface MfaFixture {
  core: AuthCore
  store: AuthStore
  clock: TestClock
  events: AuthEvent[]
  factors: SecondFactors
  /** A user without roles. */
  alice: UserRecord
  bob: UserRecord
}

export interface MfaFixtureOptions {
  mfa?: Partial<MfaOptions> | undefined
  core?: Partial<AuthCoreOptions> | undefined
  store?: AuthStore | undefined
  clock?: TestClock | undefined
  /** Default: on, for example.com. */
  passkeys?: MfaOptions['passkeys'] | null
}

/** A started core with second factors (passkeys for example.com), a memory store, the test clock, alice and bob; stopped in teardown. */
export async function mfaCore (t: Test, options: MfaFixtureOptions = {}): Promise<MfaFixture> {
  const clock = options.clock ?? new TestClock(1_900_000_000_000)
  const store = options.store ?? createMemoryStore()
  const events: AuthEvent[] = []
  const passkeys = options.passkeys === null ? undefined : options.passkeys ?? { rpId: 'example.com', origins: [ORIGIN] }
  const core = createAuthCore({
    secret: SECRET,
    store,
    passwords: { hasher: new FastTestHasher() },
    mfa: { encryptionKey: MFA_KEY, passkeys, ...options.mfa },
    onAuthEvent: (event) => { events.push(event) },
    revocation: { syncInterval: '50ms', maxStaleness: '1h' },
    ...options.core
  }, { clock, productName: 'Example' })
  t.teardown(async () => { await core.stop() })
  await core.start()
  const stateful = core.stateful as NonNullable<AuthCore['stateful']>
  const user = async (username: string): Promise<UserRecord> => await store.users.findByUsername(username) ??
    await stateful.accounts.createUser({ username, password: PASSWORD, email: `${username}@example.com` })
  return { core, store, clock, events, factors: stateful.mfa as SecondFactors, alice: await user('alice'), bob: await user('bob') }
}

/** What an access token of this session says, as a factor-management context. */
export function contextOf (core: AuthCore, session: IssuedSession, address = ADDRESS): MfaContext {
  const claims = (core.tokens as NonNullable<AuthCore['tokens']>).verify(session.accessToken)
  return { userId: claims.sub, sessionId: claims.sid, authMethods: claims.amr, address }
}

/** A password-only session of the user (what a user without a second factor gets at login). */
export async function passwordSession (fixture: MfaFixture, user: UserRecord = fixture.alice): Promise<IssuedSession> {
  const outcome = await fixture.core.logIn({ username: user.username, password: PASSWORD, clientAddress: ADDRESS })
  if (outcome.kind !== 'session') throw new Error('expected a session')
  return outcome.session
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** The bytes of an unpadded base32 text (what the enrollment shows). */
export function decodeBase32 (text: string): Buffer {
  let bits = ''
  for (const character of text) bits += BASE32.indexOf(character).toString(2).padStart(5, '0')
  return Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2)))
}

/** The code an authenticator app shows for this secret (base32) at the clock's time, `offset` steps away. */
export function codeFor (secret: string, clock: TestClock, offset = 0): string {
  return totpCode(decodeBase32(secret), totpStep(clock.now() / 1000) + offset)
}

/** Turns TOTP on for the user of this context: the secret (base32) and the recovery codes shown. */
export async function enableTotp (fixture: MfaFixture, context: MfaContext): Promise<{ secret: string, recoveryCodes: string[] }> {
  const { secret } = await fixture.factors.beginTotp(context, PASSWORD)
  const { recoveryCodes } = await fixture.factors.confirmTotp(context, codeFor(secret, fixture.clock))
  // The step the confirmation used is spent: a login's code must come from a later one.
  fixture.clock.advance(30_000)
  return { secret, recoveryCodes: recoveryCodes as string[] }
}

/** Events of one type. */
export function eventsOf<Type extends AuthEvent['type']> (events: readonly AuthEvent[], type: Type): Array<Extract<AuthEvent, { type: Type }>> {
  return events.filter((event): event is Extract<AuthEvent, { type: Type }> => event.type === type)
}
