import Fastify from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { BcryptPasswordHasher, createAuthCore, createMemoryStore, loginRoutes, type TokenAuthOptions } from 'fastify-token-auth'
import { PASSWORD, SECRET } from './helpers/app.js'
import { withNodeEnv } from './helpers/node-env.js'

// `passwords: { bcryptCost: 4 }` is the fast hasher for test suites: accepted only under
// NODE_ENV=test, refused anywhere else with a message that says so.

async function ready (t: Test, options: TokenAuthOptions): Promise<void> {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, options)
  await app.register(loginRoutes, { prefix: '/auth' })
  await app.ready()
}

t.test('under NODE_ENV=test, bcryptCost 4 hashes at cost 4 and logins work', async (t) => {
  withNodeEnv(t, 'test')
  const store = createMemoryStore()
  const core = createAuthCore({ secret: SECRET, store, passwords: { bcryptCost: 4 } })
  const user = await (core.stateful as NonNullable<typeof core.stateful>).accounts.createUser({ username: 'alice', password: PASSWORD })
  t.match(user.passwordHash, /^\$2b\$04\$/)
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { secret: SECRET, store, passwords: { bcryptCost: 4 } })
  await app.register(loginRoutes, { prefix: '/auth' })
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD } })
  t.equal(login.statusCode, 200)
  t.equal(new BcryptPasswordHasher(9).cost, 9, 'the hasher on its own takes 4 to 9 too')
})

t.test('outside tests a bcryptCost below 10 fails registration, saying it needs NODE_ENV=test', async (t) => {
  withNodeEnv(t, undefined)
  await t.rejects(ready(t, { secret: SECRET, store: createMemoryStore(), passwords: { bcryptCost: 4 } }), {
    code: 'FST_TOKEN_AUTH_INVALID_OPTION',
    message: /passwords\.bcryptCost 4 is below 10, which only tests may use: it is accepted when NODE_ENV is 'test' \(NODE_ENV is not set\)$/
  })
  t.throws(() => new BcryptPasswordHasher(9), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /bcryptCost 9 is below 10/ })
})

t.test('under NODE_ENV=production a bcryptCost below 10 is refused', async (t) => {
  withNodeEnv(t, 'production')
  await t.rejects(ready(t, { secret: SECRET, store: createMemoryStore(), passwords: { bcryptCost: 9 } }), {
    code: 'FST_TOKEN_AUTH_INVALID_OPTION',
    message: /passwords\.bcryptCost 9 is below 10, .*\(NODE_ENV is "production"\)$/
  })
})

t.test('costs below bcrypt\'s 4 or above 20 are refused even in tests', async (t) => {
  withNodeEnv(t, 'test')
  for (const bcryptCost of [3, 21, 4.5]) {
    await t.rejects(ready(t, { secret: SECRET, store: createMemoryStore(), passwords: { bcryptCost } }), {
      code: 'FST_TOKEN_AUTH_INVALID_OPTION',
      message: /passwords\.bcryptCost must be an integer from 10 to 20 \(from 4 when NODE_ENV is 'test'\)/
    }, String(bcryptCost))
  }
})
