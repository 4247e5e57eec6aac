import t from 'tap'
import { createAuthCore, createMemoryStore } from 'fastify-token-auth'
import { FakeClock } from './helpers/fake-clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'

// Device tokens are accepted under every key of the ring: rotating the token keys (a new
// key first, the old one still accepted) must not end every browser's own login allowance
// at once, exactly while an attacker keeps the account locked.

const OLD = 'ygY3gG1yPxXu3LsnQZS48ci0LXUfjONEueEB6IUo7umn'
const NEW = 'vFwQReRxjokbYVBKqlSNTVyy0vh8xw2RWrKY08V8h-p2'
const PASSWORD = 'correct horse battery staple'

t.test('a device token issued before a key rotation still keeps its own allowance after it', async (t) => {
  const store = createMemoryStore()
  const clock = new FakeClock()
  const hasher = new FastTestHasher()
  const throttle = { maxAccountFailures: 3, maxAddressFailures: 1000 }
  const before = createAuthCore({ keys: [{ kid: 'old', secret: OLD }], store, passwords: { hasher }, throttle }, { clock })
  await before.stateful!.accounts.createUser({ username: 'alice', password: PASSWORD })
  const { deviceToken } = await before.stateful!.login.login({ username: 'alice', password: PASSWORD, clientAddress: '198.51.100.1' })

  const after = createAuthCore({ keys: [{ kid: 'new', secret: NEW }, { kid: 'old', secret: OLD }], store, passwords: { hasher }, throttle }, { clock })
  const login = after.stateful!.login
  for (let i = 0; i < 3; i++) {
    await t.rejects(login.login({ username: 'alice', password: 'guess', clientAddress: '203.0.113.66' }), { code: 'FST_TOKEN_AUTH_INVALID_CREDENTIALS' })
  }
  await t.rejects(login.login({ username: 'alice', password: PASSWORD, clientAddress: '203.0.113.66' }), { code: 'FST_TOKEN_AUTH_LOGIN_THROTTLED' }, 'the attacker locked the account key')
  const result = await login.login({ username: 'alice', password: PASSWORD, clientAddress: '198.51.100.1', deviceToken }).catch((error: { code?: string }) => error.code)
  t.equal(typeof result === 'object' ? result.user.username : result, 'alice', 'alice\'s browser still signs in with its device cookie')
})
