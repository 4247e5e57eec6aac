import t from 'tap'
import { createAuthCore } from 'fastify-token-auth'
import { FakeClock } from './helpers/fake-clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { forEachStore, TEST_SECRET } from './helpers/stores.js'

// Usernames and throttle keys compare byte for byte on every database. MariaDB/MySQL's
// default collation (utf8mb4_general_ci) is case- and accent-insensitive: 'alicé' would
// find alice while its throttle key is not alice's, and each accented spelling would bring
// a fresh allowance of guesses.

const PASSWORD = 'correct horse battery staple'

forEachStore(t, 'an accented spelling is another username: it neither finds alice nor escapes her lockout', async (t, target) => {
  const store = await target.create(t)
  const clock = new FakeClock()
  const core = createAuthCore({ secret: TEST_SECRET, store, passwords: { hasher: new FastTestHasher() }, throttle: { maxAccountFailures: 3, maxAddressFailures: 1000 } }, { clock })
  const { accounts, login } = core.stateful!
  const alice = await accounts.createUser({ username: 'alice', password: PASSWORD })
  t.equal(await accounts.findUserByUsername('alicé'), undefined, 'alicé is not alice')
  for (let i = 0; i < 3; i++) await t.rejects(login.login({ username: 'alice', password: 'wrong', clientAddress: '203.0.113.7' }), { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS' })
  await t.rejects(login.login({ username: 'alice', password: PASSWORD, clientAddress: '203.0.113.7' }), { code: 'FST_TOKEN_AUTH_LOGIN_THROTTLED' }, 'alice is locked')
  // Each spelling below is a fresh throttle key; on a case/accent-insensitive collation each finds alice.
  let gotIn = false
  for (const spelling of ['alicé', 'àlice', 'alíce', 'ålice']) {
    try {
      const result = await login.login({ username: spelling, password: PASSWORD, clientAddress: '203.0.113.7' })
      if (result.user.id === alice.id) gotIn = true
    } catch {}
  }
  t.notOk(gotIn, 'no spelling of alice signs in while alice is locked')
  const other = await accounts.createUser({ username: 'alicé', password: PASSWORD }).then(() => 'created', (error: { code?: string }) => error.code)
  t.equal(other, 'created', 'alicé is a username of its own')
})
