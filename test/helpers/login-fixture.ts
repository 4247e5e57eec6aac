import type { PasswordHasher } from '../../lib/accounts/password-hasher.js'
import { PasswordLogin, type LoginResult } from '../../lib/login/password-login.js'
import type { PasswordLoginOptions } from '../../lib/login/login-options.js'
import { createMemoryStore } from '../../lib/store/memory-store.js'
import type { AttemptCounter, AuthStore, LoginAttemptPort, UserPort, UserRecord } from '../../lib/store/ports.js'
import { FakeClock } from './fake-clock.js'
import { FastTestHasher } from './fast-test-hasher.js'

export const PASSWORD = 'correct horse battery staple'
export const DEVICE_TOKEN_KEY = 'a device token key of 32 bytes!!'
/** 73 bytes: bcrypt cannot take it whole, so it is wrong at no bcrypt cost. */
export const CHEAP_PASSWORD = 'x'.repeat(73)

export interface LoginFixture {
  store: AuthStore
  clock: FakeClock
  hasher: PasswordHasher
  login: PasswordLogin
  users: Record<'alice' | 'bob', UserRecord>
  /** The keys of every attempts.update call, in order. */
  updates: string[][]
  /** findByUsername and findById calls. */
  lookups: number
  /** The stored counters of these keys (a missing one is absent). */
  counters: (...keys: string[]) => Promise<Record<string, AttemptCounter>>
  attempt: (username: string, password: string, clientAddress?: string, deviceToken?: string) => Promise<LoginResult>
}

export interface FixtureOptions {
  options?: Partial<PasswordLoginOptions> | undefined
  hasher?: PasswordHasher | undefined
  /** Wraps the user port (to simulate a lost compare-and-set, for example). */
  users?: ((users: UserPort) => UserPort) | undefined
}

async function addUser (store: AuthStore, hasher: PasswordHasher, username: string, now: number): Promise<UserRecord> {
  const user: UserRecord = {
    id: `id-${username}`,
    username,
    email: null,
    emailVerifiedAt: null,
    roles: [],
    disabled: false,
    tokenVersion: 0,
    passwordHash: await new FastTestHasher().hash(PASSWORD),
    createdAt: now,
    profile: {}
  }
  await store.users.insert(user)
  return user
}

/** A PasswordLogin over a memory store with users alice and bob (password PASSWORD), a fake clock and a fast hasher. */
export async function loginFixture ({ options = {}, hasher = new FastTestHasher(), users: wrapUsers = (users) => users }: FixtureOptions = {}): Promise<LoginFixture> {
  const store = createMemoryStore()
  const clock = new FakeClock()
  const fixture = { lookups: 0, updates: [] as string[][] }
  const attempts: LoginAttemptPort = {
    async update (keys, decide) {
      fixture.updates.push([...keys])
      return await store.attempts.update(keys, decide)
    },
    prune: store.attempts.prune
  }
  const userPort: UserPort = {
    ...store.users,
    async findByUsername (username) { fixture.lookups++; return await store.users.findByUsername(username) },
    async findById (id) { fixture.lookups++; return await store.users.findById(id) }
  }
  const users = {
    alice: await addUser(store, hasher, 'alice', clock.now() / 1000),
    bob: await addUser(store, hasher, 'bob', clock.now() / 1000)
  }
  const login = new PasswordLogin({ users: wrapUsers(userPort), attempts, hasher, clock }, { deviceTokenKey: DEVICE_TOKEN_KEY, ...options })
  return Object.assign(fixture, {
    store,
    clock,
    hasher,
    login,
    users,
    async counters (...keys: string[]) {
      return await store.attempts.update(keys, (current) => ({ write: [], result: Object.fromEntries(current) }))
    },
    async attempt (username: string, password: string, clientAddress = '192.0.2.1', deviceToken?: string) {
      return await login.login({ username, password, clientAddress, deviceToken })
    }
  })
}

/** Settles every attempt, and sorts the outcomes by error code ('ok' for a success). */
export async function outcomes (attempts: Array<Promise<unknown>>): Promise<string[]> {
  return (await Promise.allSettled(attempts)).map((result) => {
    return result.status === 'fulfilled' ? 'ok' : (result.reason as { code: string }).code
  })
}

/** Lets every pending promise that is not waiting on a gate settle. */
export async function settle (): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
}
