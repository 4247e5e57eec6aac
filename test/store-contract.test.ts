import t from 'tap'
import { storeContractCases } from 'fastify-token-auth'
import { authStoreTargets } from './helpers/stores.js'

// The exported contract suite, run against every store on every database available here.

for (const target of authStoreTargets()) {
  t.test(`the store contract on ${target.name}`, { skip: target.skip }, async (t) => {
    for (const { name, run } of storeContractCases) {
      t.test(name, async (t) => {
        await run(await target.prepare(t))
      })
    }
  })
}
