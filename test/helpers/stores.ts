import type { Test } from 'tap'
import { createKnexStore, createKnexUserStore, createMemoryStore, createMemoryUserStore, type AuthStore, type KnexStoreOptions, type StoreOptions, type UserStore } from 'fastify-token-auth'
import { databaseTargets, openDatabase } from './databases.js'

export interface StoreTarget {
  name: 'memory' | 'sqlite' | 'postgres' | 'mysql'
  skip: string | false
  /** A fresh, migrated store (bcrypt cost 10) whose tables are dropped in teardown. */
  create: (t: Test, options?: StoreOptions) => Promise<UserStore>
}

/** Every store implementation: in memory, and knex on each database available here. */
export function storeTargets (): StoreTarget[] {
  return [
    { name: 'memory', skip: false, create: async (_t, options = {}) => createMemoryUserStore({ bcryptCost: 10, ...options }) },
    ...databaseTargets().map((target) => ({
      name: target.name,
      skip: target.skip,
      create: async (t: Test, options: StoreOptions = {}) => {
        const database = await openDatabase(t, target.name)
        const store = createKnexUserStore({ knex: database.knex, tablePrefix: database.prefix, bcryptCost: 10, ...options })
        await store.migrate()
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
