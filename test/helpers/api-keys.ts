import type { Test } from 'tap'
import { createAuthCore, createMemoryStore, type AuthCore, type AuthCoreOptions, type AuthEvent, type AuthStore, type CoreLogger, type UserRecord } from 'fastify-token-auth'
import type { ApiKeys } from '../../lib/api-keys/api-keys.js'
import { PASSWORD, SECRET } from './app.js'
import { TestClock } from './clock.js'
import { FastTestHasher } from './fast-test-hasher.js'

export const ADDRESS = '203.0.113.7'

export interface ApiKeyCore {
  core: AuthCore
  apiKeys: ApiKeys
  store: AuthStore
  clock: TestClock
  events: AuthEvent[]
  /** Lines the core logged, as `level: message`. */
  logged: string[]
  /** A user with roles `developer` and `reader`. */
  alice: UserRecord
}

export interface ApiKeyCoreOptions {
  apiKeys?: AuthCoreOptions['apiKeys']
  core?: Partial<AuthCoreOptions> | undefined
  /** Shared with another core (another instance); a fresh memory store otherwise. */
  store?: AuthStore | undefined
  clock?: TestClock | undefined
}

/** A catalogue with a scope for any user, one per role, and one no role of alice grants. */
export const SCOPES = Object.freeze({
  'profile:read': true,
  'reports:read': ['reader', 'developer'],
  'reports:write': ['developer'],
  'admin:all': ['admin']
} as const)

/** A started core with API keys on (a memory store, the test clock) and alice; stopped in teardown. */
export async function apiKeyCore (t: Test, options: ApiKeyCoreOptions = {}): Promise<ApiKeyCore> {
  const clock = options.clock ?? new TestClock(1_900_000_000_000)
  const store = options.store ?? createMemoryStore()
  const events: AuthEvent[] = []
  const logged: string[] = []
  const record = (level: string) => (first: unknown, second?: string): void => { logged.push(`${level}: ${typeof first === 'string' ? first : String(second)}`) }
  const log: CoreLogger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
  const core = createAuthCore({
    secret: SECRET,
    store,
    passwords: { hasher: new FastTestHasher() },
    apiKeys: options.apiKeys ?? { scopes: SCOPES },
    onAuthEvent: (event) => { events.push(event) },
    // Tests move the clock by minutes: revocations stay fresh meanwhile, synced every 50 ms of real time.
    revocation: { syncInterval: '50ms', maxStaleness: '1h' },
    ...options.core
  }, { clock, log })
  t.teardown(async () => { await core.stop() })
  await core.start()
  const stateful = core.stateful as NonNullable<AuthCore['stateful']>
  const apiKeys = stateful.apiKeys as ApiKeys
  const alice = await store.users.findByUsername('alice') ??
    await stateful.accounts.createUser({ username: 'alice', password: PASSWORD, roles: ['developer', 'reader'] })
  return { core, apiKeys, store, clock, events, logged, alice }
}

/** Awaits what authenticate gives, a value or a Promise alike. */
export async function authenticated (apiKeys: ApiKeys, key: string, address = ADDRESS): Promise<Awaited<ReturnType<ApiKeys['authenticate']>>> {
  return await apiKeys.authenticate(key, address)
}

/** Events of one type. */
export function eventsOf<Type extends AuthEvent['type']> (events: readonly AuthEvent[], type: Type): Array<Extract<AuthEvent, { type: Type }>> {
  return events.filter((event): event is Extract<AuthEvent, { type: Type }> => event.type === type)
}

/** Counts calls of the memory store's findByHash. */
export function countLookups (store: AuthStore): { readonly count: number } {
  const counter = { count: 0 }
  const findByHash = store.apiKeys.findByHash
  store.apiKeys.findByHash = async (hash) => {
    counter.count++
    return await findByHash(hash)
  }
  return counter
}

/** Counts calls of the store's attempt-counter update (what a lookup reserves and a success takes back). */
export function countCounterCalls (store: AuthStore): { readonly count: number } {
  const counter = { count: 0 }
  const update = store.attempts.update
  store.attempts.update = async (keys, decide) => {
    counter.count++
    return await update(keys, decide)
  }
  return counter
}
