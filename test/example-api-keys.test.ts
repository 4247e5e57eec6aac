import { Writable } from 'node:stream'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { apiKeyPrefix, build } from '../example-app/src/app.js'
import { API_KEY_SCOPES } from '../example-app/src/api.js'
import { generateKey } from '../lib/api-keys/key-format.js'
import { buildExample, DEMO_PASSWORD, exampleConfig } from './helpers/example-app.js'
import { bearer } from './helpers/forge.js'

// The example app's API keys over HTTP, as a script would use them: made with a session at
// /auth/api-keys, sent as a Bearer value to the two API routes opened to keys, refused elsewhere.

type ExampleApp = Awaited<ReturnType<typeof buildExample>>

const TEST_KEY = /^fta_test_[0-9A-Za-z]{49}$/

async function loginAs (app: ExampleApp, username: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: DEMO_PASSWORD } })
  return res.json().access_token
}

async function createKey (app: ExampleApp, session: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/auth/api-keys', headers: bearer(session), payload: body })
}

/** A key of `username` with these scopes, and the session that made it. */
async function keyOf (app: ExampleApp, username: string, scopes: string[]): Promise<{ key: string, id: string, session: string }> {
  const session = await loginAs(app, username)
  const res = await createKey(app, session, { name: `${username}'s script`, scopes })
  if (res.statusCode !== 201) throw new Error(`key not created: ${res.statusCode} ${res.payload}`)
  return { key: res.json().key, id: res.json().api_key.id, session }
}

function refusedAsInvalidToken (t: Test, res: LightMyRequestResponse, code: string): void {
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, code)
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/)
}

t.test('a key made at /auth/api-keys is shown once, calls GET /api/me as its user, and is listed without its secret', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const session = await loginAs(app, 'demo')
  const created = await createKey(app, session, { name: 'backup script', scopes: ['profile:read'], expires_in: 7 * 86400 })
  t.equal(created.statusCode, 201)
  t.equal(created.headers['cache-control'], 'no-store')
  const { key, api_key: view } = created.json()
  t.match(key, TEST_KEY, 'fta_test_ outside production, then 43 + 6 base62 characters')
  t.match(view, { name: 'backup script', scopes: ['profile:read'], start: key.slice(0, 15), last_used_at: null })
  t.equal(view.expires_at - view.created_at, 7 * 86400)

  const me = await app.inject({ url: '/api/me', headers: bearer(key) })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { username: 'demo', roles: ['admin'], authMethod: 'api_key', tokenExpiresAt: view.expires_at })

  const list = await app.inject({ url: '/auth/api-keys', headers: bearer(session) })
  t.equal(list.statusCode, 200)
  t.same(list.json().grantable_scopes, ['profile:read', 'admin:read'], 'an admin may grant both scopes of the app')
  t.same(list.json().api_keys.map((listed: { id: string }) => listed.id), [view.id])
  t.notMatch(list.payload, key.slice(15), 'the list never holds the secret')
})

t.test('scopes: a key holds what it was given and what its user may grant, no more', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const reader = await keyOf(app, 'demo', ['profile:read'])
  const forbidden = await app.inject({ url: '/api/admin', headers: bearer(reader.key) })
  t.equal(forbidden.statusCode, 403, 'the admin\'s key without admin:read stays out of the admin area')
  t.equal(forbidden.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(forbidden.headers['www-authenticate'], /error="insufficient_scope"/)

  const admin = await keyOf(app, 'demo', ['admin:read'])
  const allowed = await app.inject({ url: '/api/admin', headers: bearer(admin.key) })
  t.equal(allowed.statusCode, 200)
  t.match(allowed.json().message, /admin area/)
  const noProfile = await app.inject({ url: '/api/me', headers: bearer(admin.key) })
  t.equal(noProfile.statusCode, 403, 'admin:read alone does not read the profile')
  t.equal(noProfile.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')

  const viewer = await loginAs(app, 'viewer')
  t.same((await app.inject({ url: '/auth/api-keys', headers: bearer(viewer) })).json().grantable_scopes, ['profile:read'])
  const notGrantable = await createKey(app, viewer, { name: 'sneaky', scopes: ['admin:read'] })
  t.equal(notGrantable.statusCode, 403, 'the viewer cannot grant what the viewer lacks')
  t.equal(notGrantable.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  const unknown = await createKey(app, viewer, { name: 'typo', scopes: ['notes:write'] })
  t.equal(unknown.statusCode, 400)
  t.equal(unknown.json().code, 'FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST')
  t.equal(unknown.headers['www-authenticate'], undefined)
})

t.test('session tokens carry the scopes their roles grant, so the page\'s session still reads both routes', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const demo = await loginAs(app, 'demo')
  t.equal((await app.inject({ url: '/api/me', headers: bearer(demo) })).statusCode, 200)
  t.equal((await app.inject({ url: '/api/admin', headers: bearer(demo) })).statusCode, 200)
  const viewer = await loginAs(app, 'viewer')
  t.equal((await app.inject({ url: '/api/me', headers: bearer(viewer) })).statusCode, 200)
  t.equal((await app.inject({ url: '/api/admin', headers: bearer(viewer) })).statusCode, 403)
  t.same(Object.keys(API_KEY_SCOPES), ['profile:read', 'admin:read'])
})

t.test('a key is refused on every route not opened to keys, with nothing looked up: the key routes, the sessions, the admin routes', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const { key } = await keyOf(app, 'demo', ['profile:read', 'admin:read'])
  for (const [method, url] of [['GET', '/auth/api-keys'], ['POST', '/auth/api-keys'], ['DELETE', '/auth/api-keys'], ['GET', '/auth/sessions'], ['POST', '/auth/logout-all'], ['GET', '/api/admin/users']] as const) {
    const res = await app.inject({ method, url, headers: bearer(key), ...method === 'POST' ? { payload: { name: 'minted by a key', scopes: ['profile:read'] } } : {} })
    t.equal(res.statusCode, 401, `${method} ${url}`)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED', `${method} ${url}`)
    t.match(res.headers['www-authenticate'], /error="invalid_token"/, `${method} ${url}`)
  }
  t.equal((await app.inject({ url: '/api/me', headers: bearer(key) })).statusCode, 200, 'and still works where it is allowed')
})

t.test('revoked, one or all: the key is refused with invalid_token at once', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const first = await keyOf(app, 'demo', ['profile:read'])
  t.equal((await app.inject({ url: '/api/me', headers: bearer(first.key) })).statusCode, 200, 'used once: now cached')
  const revoked = await app.inject({ method: 'DELETE', url: `/auth/api-keys/${first.id}`, headers: bearer(first.session) })
  t.equal(revoked.statusCode, 204)
  refusedAsInvalidToken(t, await app.inject({ url: '/api/me', headers: bearer(first.key) }), 'FST_TOKEN_AUTH_INVALID_API_KEY')
  const again = await app.inject({ method: 'DELETE', url: `/auth/api-keys/${first.id}`, headers: bearer(first.session) })
  t.equal(again.statusCode, 404)
  t.equal(again.json().code, 'FST_TOKEN_AUTH_API_KEY_NOT_FOUND')

  const second = await keyOf(app, 'demo', ['profile:read'])
  const third = await keyOf(app, 'demo', ['admin:read'])
  const all = await app.inject({ method: 'DELETE', url: '/auth/api-keys', headers: bearer(second.session) })
  t.equal(all.statusCode, 200)
  t.same(all.json(), { revoked: 2 })
  refusedAsInvalidToken(t, await app.inject({ url: '/api/me', headers: bearer(second.key) }), 'FST_TOKEN_AUTH_INVALID_API_KEY')
  refusedAsInvalidToken(t, await app.inject({ url: '/api/admin', headers: bearer(third.key) }), 'FST_TOKEN_AUTH_INVALID_API_KEY')
  t.same((await app.inject({ url: '/auth/api-keys', headers: bearer(second.session) })).json().api_keys, [])
})

t.test('a mistyped key and a well-formed one nobody holds get the very same answer as a revoked one', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const { key } = await keyOf(app, 'viewer', ['profile:read'])
  const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')
  const stranger = generateKey('fta_test_').key
  const answers = []
  for (const value of [flipped, stranger]) {
    const res = await app.inject({ url: '/api/me', headers: bearer(value) })
    refusedAsInvalidToken(t, res, 'FST_TOKEN_AUTH_INVALID_API_KEY')
    answers.push(res.payload)
  }
  t.equal(answers[0], answers[1])
})

t.test('rename: the list shows the new name; another user\'s key is not found', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const { id, session } = await keyOf(app, 'demo', ['profile:read'])
  const renamed = await app.inject({ method: 'PATCH', url: `/auth/api-keys/${id}`, headers: bearer(session), payload: { name: '  nightly export  ' } })
  t.equal(renamed.statusCode, 200)
  t.equal(renamed.json().name, 'nightly export')
  t.equal((await app.inject({ url: '/auth/api-keys', headers: bearer(session) })).json().api_keys[0].name, 'nightly export')
  const viewer = await loginAs(app, 'viewer')
  for (const method of ['PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: `/auth/api-keys/${id}`, headers: bearer(viewer), ...method === 'PATCH' ? { payload: { name: 'mine now' } } : {} })
    t.equal(res.statusCode, 404, method)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_API_KEY_NOT_FOUND', method)
  }
})

t.test('logging out everywhere leaves keys working, as the keys panel tells the user', async (t) => {
  const app = await buildExample(t, await exampleConfig(t))
  const { key, session } = await keyOf(app, 'viewer', ['profile:read'])
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(session) })).statusCode, 204)
  t.equal((await app.inject({ url: '/api/me', headers: bearer(key) })).statusCode, 200)
})

t.test('in production the keys start with fta_live_', async (t) => {
  const config = { ...await exampleConfig(t), production: true, tokenSecret: 'VjwD2x2t8YIcdQfgEtj1FzOCNDX80KICCJMf376zscO4' }
  t.equal(apiKeyPrefix(config), 'fta_live_')
  t.equal(apiKeyPrefix({ ...config, production: false }), 'fta_test_')
  const app = await buildExample(t, config)
  const { key } = await keyOf(app, 'viewer', ['profile:read'])
  t.match(key, /^fta_live_[0-9A-Za-z]{49}$/)
  t.equal((await app.inject({ url: '/api/me', headers: bearer(key) })).statusCode, 200)
})

t.test('the keys panel\'s script is served, and a refused key is logged as a warning without the key', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = await build(await exampleConfig(t), { logger: { level: 'info', stream } })
  t.teardown(async () => { await app.close() })
  const script = await app.inject({ url: '/api-keys.js' })
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /^text\/javascript/)
  t.notMatch(script.payload, /\b(?:localStorage|sessionStorage)\s*[.[]|\.(?:innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write/, 'the key is kept in the page only, and text is never parsed as HTML')
  const page = (await app.inject({ url: '/' })).payload
  t.match(page, 'id="api-keys-panel"')
  t.notMatch(page, /<script>|\sstyle=|\son[a-z]+=/, 'no inline script or style the CSP would block')

  const { key, id, session } = await keyOf(app, 'viewer', ['profile:read'])
  await app.inject({ method: 'DELETE', url: `/auth/api-keys/${id}`, headers: bearer(session) })
  t.equal((await app.inject({ url: '/api/me', headers: bearer(key) })).statusCode, 401)
  const rejected = lines.map((line) => JSON.parse(line)).find((line) => line.event?.type === 'api_key.rejected')
  t.match(rejected, { level: 40, msg: 'auth event', event: { keyId: id, reason: 'revoked' } })
  t.notOk(lines.some((line) => line.includes(key.slice(9))), 'no log line holds the key')
})
