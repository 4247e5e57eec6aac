import t from 'tap'
import { storeContractCases } from 'fastify-token-auth'
import { authStoreTargets, type AuthStoreTarget } from './stores.js'

/**
 * Runs the exported contract suite against these stores. Each database has a test file of
 * its own: a database's run migrates fresh tables for every case, which takes a minute or
 * more on a busy server, and one file for all of them came close to tap's per-file timeout.
 */
export function runStoreContract (names: ReadonlyArray<AuthStoreTarget['name']>): void {
  for (const target of authStoreTargets().filter((candidate) => names.includes(candidate.name))) {
    t.test(`the store contract on ${target.name}`, { skip: target.skip }, async (t) => {
      for (const { name, run } of storeContractCases) {
        t.test(name, async (t) => {
          await run(await target.prepare(t))
        })
      }
    })
  }
}
