import { generateKeyPairSync } from 'node:crypto'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { createAuthCore, type TokenAuthOptions } from 'fastify-token-auth'
import { SECRET } from './helpers/app.js'
import { withNodeEnv } from './helpers/node-env.js'
import { bearer } from './helpers/forge.js'

// A guessable HMAC or CSRF secret fails registration with a message naming the option as
// written and saying how to make a good one; a test may keep a readable one, never production.

const WEAK = 'my-super-secret-jwt-signing-key-2024'
const OTHER_WEAK = 'this-is-a-very-long-secret-key-for-jwt-signing'
const RANDOM_CSRF_SECRET = 'Zq3vB8xK1mN6pR0tW5yC2dF7gH4jL9sA_eU-iO8kP2w'

/** An app with tokenAuth registered and a route behind it; `lines` holds what it logged. */
async function register (t: Test, options: TokenAuthOptions): Promise<{ app: FastifyInstance, lines: string[] }> {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, options)
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  await app.ready()
  return { app, lines }
}

const refusal = (name: string): RegExp =>
  new RegExp(`^fastify-token-auth: ${name.replace(/[[\].]/g, '\\$&')} looks like words or a pattern: estimated \\d+ bits of guessing work, need 128\\. Use random bytes, generated with: node -e "console\\.log\\(require\\('crypto'\\)\\.randomBytes\\(32\\)\\.toString\\('base64url'\\)\\)"`)

const issueExamples = ['changeme-changeme-changeme-changeme', WEAK, '01234567890123456789012345678901']

for (const secret of issueExamples) {
  t.test(`registration refuses the guessable secret ${JSON.stringify(secret)}, naming the option \`secret\``, async (t) => {
    withNodeEnv(t, undefined)
    await t.rejects(register(t, { secret }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: refusal('secret') })
  })
}

t.test('the message says a test may keep a readable secret, and names no option it did not come from', async (t) => {
  withNodeEnv(t, undefined)
  const error = await register(t, { secret: WEAK }).then(() => undefined, (error: Error) => error)
  t.match(error?.message, /a test may keep a readable one with NODE_ENV=test or allowWeakSecret: true$/)
  t.notMatch(error?.message, /secret\[0\]/)
  t.notMatch(error?.message, new RegExp(WEAK), 'the secret itself is not repeated')
})

t.test('a guessable key in `keys` is named by its place in the ring', async (t) => {
  withNodeEnv(t, undefined)
  const { publicKey } = generateKeyPairSync('ed25519')
  const keys = [{ kid: 'a', secret: SECRET }, { kid: 'b', publicKey }, { kid: 'c', secret: WEAK }]
  await t.rejects(register(t, { keys }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: refusal('keys[2].secret') })
})

t.test('a guessable csrf.secret is refused like a token secret', async (t) => {
  withNodeEnv(t, undefined)
  const { publicKey } = generateKeyPairSync('ed25519')
  await t.rejects(register(t, { keys: [{ publicKey }], csrf: { secret: WEAK } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: refusal('csrf.secret') })
  const { app } = await register(t, { keys: [{ publicKey }], csrf: { secret: RANDOM_CSRF_SECRET } })
  t.ok(app.hasDecorator('tokenAuth'), 'a random csrf.secret is fine')
})

t.test('under NODE_ENV=test a readable secret works, with one warning that names the option and not the secret', async (t) => {
  withNodeEnv(t, 'test')
  const { app, lines } = await register(t, { secret: WEAK })
  const token = await app.tokenAuth.sign({ sub: 'alice' })
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
  t.equal(lines.length, 1, lines.join(''))
  const warning = JSON.parse(lines[0]) as { level: number, msg: string, options: string[] }
  t.equal(warning.level, 40, 'a warning')
  t.same(warning.options, ['secret'])
  t.match(warning.msg, /^secret is a guessable secret, accepted because NODE_ENV=test or allowWeakSecret is set: anyone who guesses it can forge tokens, so never deploy it$/)
  t.notMatch(lines.join(''), new RegExp(WEAK))
})

t.test('allowWeakSecret: true accepts readable secrets outside NODE_ENV=test, with one warning naming each', async (t) => {
  withNodeEnv(t, undefined)
  const { lines } = await register(t, { keys: [{ kid: 'a', secret: WEAK }, { kid: 'b', secret: OTHER_WEAK }], allowWeakSecret: true })
  t.equal(lines.length, 1, lines.join(''))
  t.match(JSON.parse(lines[0]), { options: ['keys[0].secret', 'keys[1].secret'], msg: /^keys\[0\]\.secret, keys\[1\]\.secret are guessable secrets/ })
  t.notMatch(lines.join(''), new RegExp(`${WEAK}|${OTHER_WEAK}`))
})

t.test('a readable csrf.secret accepted in a test is warned about by the plugin', async (t) => {
  withNodeEnv(t, 'test')
  const { lines } = await register(t, { secret: SECRET, csrf: { secret: OTHER_WEAK } })
  t.equal(lines.length, 1, lines.join(''))
  t.match(JSON.parse(lines[0]), { options: ['csrf.secret'], msg: /^csrf\.secret is a guessable secret/ })
})

t.test('a random secret logs no warning', async (t) => {
  withNodeEnv(t, 'test')
  const { lines } = await register(t, { secret: SECRET })
  t.same(lines, [])
})

t.test('allowWeakSecret: false keeps the check on under NODE_ENV=test', async (t) => {
  withNodeEnv(t, 'test')
  await t.rejects(register(t, { secret: WEAK, allowWeakSecret: false }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: refusal('secret') })
})

t.test('the minimum length stays when a readable secret is allowed', async (t) => {
  withNodeEnv(t, 'test')
  await t.rejects(register(t, { secret: 'short-test-secret', allowWeakSecret: true }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /^fastify-token-auth: secret must be at least 32 bytes for HS256; got 17/ })
})

t.test('under NODE_ENV=production a guessable secret is always refused, and allowWeakSecret: true is a mistake', async (t) => {
  withNodeEnv(t, 'production')
  const error = await register(t, { secret: WEAK }).then(() => undefined, (error: Error) => error)
  t.match(error, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: refusal('secret') })
  t.notMatch(error?.message, /allowWeakSecret/, 'production is not told how to get around the check')
  await t.rejects(register(t, { secret: SECRET, allowWeakSecret: true }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /^fastify-token-auth: allowWeakSecret cannot be true when NODE_ENV is 'production'/ })
  const { publicKey } = generateKeyPairSync('ed25519')
  await t.rejects(register(t, { keys: [{ publicKey }], csrf: { secret: WEAK } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: refusal('csrf.secret') })
})

for (const spelling of ['Production', 'PRODUCTION', ' production', 'production\n']) {
  t.test(`NODE_ENV=${JSON.stringify(spelling)} counts as production: allowWeakSecret: true is refused`, async (t) => {
    withNodeEnv(t, spelling)
    await t.rejects(register(t, { secret: WEAK, allowWeakSecret: true }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /^fastify-token-auth: allowWeakSecret cannot be true when NODE_ENV is 'production'/ })
    await t.rejects(register(t, { secret: WEAK }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: refusal('secret') })
  })
}

t.test('allowWeakSecret must be a boolean', async (t) => {
  withNodeEnv(t, undefined)
  await t.rejects(register(t, { secret: SECRET, allowWeakSecret: 'yes' as unknown as boolean }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /^fastify-token-auth: allowWeakSecret must be true or false$/ })
})

t.test('the core on its own warns through its logger too', async (t) => {
  withNodeEnv(t, 'test')
  const warnings: Array<[object, string]> = []
  const ignore = (): void => {}
  createAuthCore({ secret: WEAK }, { log: { debug: ignore, info: ignore, error: ignore, warn: (details, message) => { warnings.push([details, message]) } } })
  t.same(warnings.map(([details]) => details), [{ options: ['secret'] }])
  t.match(warnings[0][1], /^secret is a guessable secret/)
})
