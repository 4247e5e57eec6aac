import t from 'tap'
import { BcryptPasswordHasher } from 'fastify-token-auth'
import { ConcurrencyLimit } from '../lib/accounts/concurrency-limit.js'
import { defaultBcryptConcurrency } from '../lib/accounts/password-hasher.js'
import { normalisePassword } from '../lib/accounts/password-input.js'

t.test('passwords are NFKC-normalised and checked against what bcrypt can take', async (t) => {
  t.same(normalisePassword('Cafe\u0301 au lait', 8), { ok: true, password: 'Caf\u00e9 au lait' })
  t.same(normalisePassword('ｐａｓｓｗｏｒｄ', 8), { ok: true, password: 'password' }, 'full-width letters fold to ASCII')
  t.match(normalisePassword('\uFDFA'.repeat(3), 1), { ok: false, reason: /longer than 72 bytes once normalised/ })
  t.match(normalisePassword('é'.repeat(37), 1), { ok: false, reason: /72 bytes/ }, '74 bytes in 37 characters')
  t.same(normalisePassword('é'.repeat(36), 1), { ok: true, password: 'é'.repeat(36) }, '72 bytes is fine')
  t.match(normalisePassword('pass\u0000word', 1), { ok: false, reason: /NUL/ })
  t.match(normalisePassword('\uDC00password', 1), { ok: false, reason: /not valid Unicode/ })
  t.match(normalisePassword('', 1), { ok: false, reason: /empty/ })
  t.match(normalisePassword('1234567', 8), { ok: false, reason: /at least 8 characters/ })
  t.match(normalisePassword('🔐🔐🔐🔐🔐🔐🔐🔐', 8), { ok: true }, 'length counts characters, not UTF-16 units')
  t.match(normalisePassword(['a'], 1), { ok: false, reason: /must be a string/ })
})

t.test('the hasher uses the configured cost, knows when to rehash, and never throws on a foreign hash', async (t) => {
  const hasher = new BcryptPasswordHasher(10)
  const hash = await hasher.hash('password1')
  t.match(hash, /^\$2b\$10\$/)
  t.ok(await hasher.verify('password1', hash))
  t.notOk(await hasher.verify('password2', hash))
  t.notOk(await hasher.verify('password1', 'plaintext-in-the-database'), 'a non-bcrypt value is a mismatch, not a crash')
  t.notOk(hasher.needsRehash(hash))
  t.ok(new BcryptPasswordHasher(11).needsRehash(hash))
  t.ok(hasher.needsRehash('md5:abc'), 'anything that is not bcrypt needs a rehash')
  t.equal(await hasher.dummyHash(), await hasher.dummyHash(), 'the dummy hash is made once')
  t.equal(new BcryptPasswordHasher().cost, 12, 'cost 12 by default')
  for (const cost of [9, 21, 10.5, Number.NaN]) {
    t.throws(() => new BcryptPasswordHasher(cost), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /bcryptCost/ }, String(cost))
  }
})

t.test('bcrypt work runs at most maxConcurrency at once, in order, and leaves libuv threads free', async (t) => {
  const limit = new ConcurrencyLimit(2)
  let running = 0
  let peak = 0
  const order: number[] = []
  const task = (id: number) => async () => {
    running++
    peak = Math.max(peak, running)
    await new Promise((resolve) => setTimeout(resolve, 10))
    running--
    order.push(id)
    if (id === 3) throw new Error('a failing task frees its slot')
    return id
  }
  const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(async (id) => await limit.run(task(id))))
  t.equal(peak, 2)
  t.same(order, [1, 2, 3, 4, 5, 6])
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
  t.equal(await limit.run(async () => 'free again'), 'free again')
  const original = process.env.UV_THREADPOOL_SIZE
  t.teardown(() => { if (original === undefined) delete process.env.UV_THREADPOOL_SIZE; else process.env.UV_THREADPOOL_SIZE = original })
  delete process.env.UV_THREADPOOL_SIZE
  t.equal(defaultBcryptConcurrency(), 3, 'the default pool of 4, minus one')
  process.env.UV_THREADPOOL_SIZE = '1'
  t.equal(defaultBcryptConcurrency(), 1, 'never less than one')
  process.env.UV_THREADPOOL_SIZE = 'many'
  t.equal(defaultBcryptConcurrency(), 3, 'an unreadable size counts as the default')
  process.env.UV_THREADPOOL_SIZE = '16'
  t.equal(defaultBcryptConcurrency(), 15)
  t.throws(() => new BcryptPasswordHasher(10, 0), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /bcryptConcurrency must be a positive integer/ })
})
