import type { Test } from 'tap'
import { createKnexUserStore, createMemoryUserStore, type StoreOptions, type UserStore } from 'fastify-token-auth'
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
