import type { Test } from 'tap'
import { createKnexStore, type KnexStoreOptions } from 'fastify-token-auth/knex'
import { BcryptPasswordHasher, createAuthCore, createMemoryStore, type AuthStore, type NewUser, type PasswordHasher, type UserRecord } from 'fastify-token-auth'
import { databaseTargets, openDatabase } from './databases.js'

export const TEST_SECRET = 'nO7hX2qL9vR4tW8yB3mK6pD1sF5gJ0cZ-aE_uI4oP8lQ2wY'

export interface StoreTarget {
  name: 'memory' | 'sqlite' | 'postgres' | 'mysql'
  skip: string | false
  /** A fresh, migrated store whose tables are dropped in teardown. */
  create: (t: Test, options?: { profileColumns?: string[] | undefined }) => Promise<AuthStore>
}

/** Every store implementation: in memory, and knex on each database available here. */
export function storeTargets (): StoreTarget[] {
  return [
    { name: 'memory', skip: false, create: async (_t, options = {}) => createMemoryStore({ profileFields: options.profileColumns }) },
    ...databaseTargets().map((target) => ({
      name: target.name,
      skip: target.skip,
      create: async (t: Test, options: { profileColumns?: string[] | undefined } = {}) => {
        const database = await openDatabase(t, target.name)
        const store = createKnexStore({ knex: database.knex, tablePrefix: database.prefix, ...options })
        await store.migrate()
        // Profile columns are the application's own: its migration adds them to the users table.
        for (const column of options.profileColumns ?? []) {
          await database.knex.schema.alterTable(`${database.prefix}users`, (table) => { table.string(column).nullable() })
        }
        return store
      }
    }))
  ]
}

/** The in-memory store target, for tests of behaviour that does not depend on the database. */
export function memoryStoreTarget (): StoreTarget {
  return storeTargets()[0]
}

/** Runs `body` as a subtest per store target, skipped with the printed reason where a database is missing. */
export function forEachStore (t: Test, name: string, body: (t: Test, target: StoreTarget) => Promise<void>): void {
  for (const target of storeTargets()) {
    if (target.skip !== false) {
      t.test(`${name} [${target.name}]`, { skip: target.skip }, async () => {})
      continue
    }
    t.test(`${name} [${target.name}]`, async (t) => { await body(t, target) })
  }
}

const cheapBcrypt = new BcryptPasswordHasher(10)

/** Creates a user in a store through the accounts logic, as an application would (bcrypt cost 10 unless a hasher is given). */
export async function createUser (store: AuthStore, user: NewUser, hasher: PasswordHasher = cheapBcrypt): Promise<UserRecord> {
  const core = createAuthCore({ secret: TEST_SECRET, store, passwords: { hasher } })
  return await (core.stateful as NonNullable<typeof core.stateful>).accounts.createUser(user)
}

export interface AuthStoreTarget {
  name: 'memory' | 'sqlite' | 'postgres' | 'mysql'
  skip: string | false
  /**
   * Fresh, empty data for one test (tables dropped in teardown) and a way to open it:
   * the first call migrates, each call gives another connection (knex pool) to it.
   */
  prepare: (t: Test, options?: Omit<KnexStoreOptions, 'knex' | 'tablePrefix'>) => Promise<() => Promise<AuthStore>>
}

/** Every AuthStore implementation: in memory, and knex on each database available here. */
export function authStoreTargets (): AuthStoreTarget[] {
  return [
    {
      name: 'memory',
      skip: false,
      prepare: async () => {
        const store = createMemoryStore()
        return async () => store
      }
    },
    ...databaseTargets().map((target) => ({
      name: target.name,
      skip: target.skip,
      prepare: async (t: Test, options: Omit<KnexStoreOptions, 'knex' | 'tablePrefix'> = {}) => {
        const database = await openDatabase(t, target.name)
        let opened = 0
        return async () => {
          const store = createKnexStore({ ...options, knex: opened++ === 0 ? database.knex : database.connect(), tablePrefix: database.prefix })
          await store.migrate()
          return store
        }
      }
    }))
  ]
}
