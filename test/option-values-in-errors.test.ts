import Fastify from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { createAuthCore, createMemoryStore, type TokenAuthOptions } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'
import knex from 'knex'
import { shownValue } from '../lib/shown-value.js'
import { SECRET } from './helpers/app.js'

// A secret put in the wrong option (an environment variable read into the wrong place) is
// refused, and the refusal names the option without ever echoing the secret into a log.

async function bootError (t: Test, options: Record<string, unknown>): Promise<Error> {
  const app = Fastify()
  t.teardown(async () => { await app.close().catch(() => {}) })
  const failure = await (async () => {
    await app.register(tokenAuth, { secret: SECRET, ...options } as TokenAuthOptions)
    await app.ready()
  })().then(() => undefined, (error: unknown) => error as Error)
  if (failure === undefined) throw new Error('expected the registration to fail')
  return failure
}

const misplaced: Array<[string, Record<string, unknown>]> = [
  ['transport.prefer', { transport: { prefer: SECRET } }],
  ['cookie.sameSite', { cookie: { sameSite: SECRET } }],
  ['cookie.accessTokenName', { cookie: { accessTokenName: `${SECRET};` } }],
  ['decorators', { decorators: SECRET }],
  ['decorators.user', { decorators: { user: SECRET } }],
  ['accessTokenTtl', { accessTokenTtl: SECRET }],
  ['passwords.bcryptCost', { passwords: { bcryptCost: SECRET } }],
  ['verifiedTokenCacheSize', { verifiedTokenCacheSize: SECRET }],
  ['throttle.maxAccountFailures', { store: createMemoryStore(), throttle: { maxAccountFailures: SECRET } }],
  ['keys[0].alg', { secret: undefined, keys: [{ kid: 'a', secret: SECRET, alg: SECRET }] }]
]

for (const [option, options] of misplaced) {
  t.test(`a secret put in ${option} is refused without being echoed`, async (t) => {
    const error = await bootError(t, options)
    t.match(error, { code: 'FST_TOKEN_AUTH_INVALID_OPTION' })
    t.ok(error.message.includes(option), `names ${option}`)
    t.notOk(error.message.includes(SECRET.slice(0, 16)), error.message)
    t.match(error.message, /a string of \d+ characters/)
  })
}

t.test('a secret put in the knex store\'s tablePrefix is refused without being echoed', async (t) => {
  const db = knex({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true })
  t.teardown(async () => { await db.destroy() })
  t.throws(() => createKnexStore({ knex: db, tablePrefix: SECRET }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: new RegExp(`tablePrefix .*got a string of ${SECRET.length} characters$`) })
})

t.test('the core refuses a secret put in a numeric option without echoing it', async (t) => {
  t.throws(() => createAuthCore({ secret: SECRET, store: createMemoryStore(), accessTokenTtl: SECRET } as never), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: new RegExp(`^fastify-token-auth: accessTokenTtl .*got a string of ${SECRET.length} characters$`) })
})

t.test('short values are still shown as written, and objects and functions by their kind', async (t) => {
  t.equal(shownValue('none'), '"none"')
  t.equal(shownValue('x'.repeat(31)), JSON.stringify('x'.repeat(31)))
  t.equal(shownValue('x'.repeat(32)), 'a string of 32 characters')
  t.equal(shownValue(12), '12')
  t.equal(shownValue(false), 'false')
  t.equal(shownValue(null), 'null')
  t.equal(shownValue(undefined), 'undefined')
  t.equal(shownValue([SECRET]), 'an array')
  t.equal(shownValue({ secret: SECRET }), 'an object')
  t.equal(shownValue(() => SECRET), 'a function')
  t.equal(shownValue(Buffer.from(SECRET)), 'an object')
})
