import t from 'tap'
import { buildApp } from './helpers/app.js'
import { ACCESS_HEADER, bearer, claims, forge } from './helpers/forge.js'

// requireRole and requireScope: authenticate first (401), then authorise (403 insufficient_scope).

t.test('requireRole lets in a token holding one of the roles', async (t) => {
  const app = await buildApp(t)
  const res = await app.inject({ url: '/admin', headers: bearer(await app.tokenAuth.sign({ sub: 'u1', roles: ['reader', 'admin'] })) })
  t.equal(res.statusCode, 200)
})

t.test('requireRole answers 403 insufficient_scope to a token without the role', async (t) => {
  const app = await buildApp(t)
  for (const roles of [['reader'], [], 'admin', undefined]) {
    const res = await app.inject({ url: '/admin', headers: bearer(await app.tokenAuth.sign({ sub: 'u1', roles })) })
    t.equal(res.statusCode, 403, JSON.stringify(roles))
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
    t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="insufficient_scope", error_description="[^"]*admin"$/)
  }
})

t.test('requireRole answers 401 when there is no valid token', async (t) => {
  const app = await buildApp(t)
  const missing = await app.inject({ url: '/admin' })
  t.equal(missing.statusCode, 401)
  t.equal(missing.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="api"')
  const forged = await app.inject({ url: '/admin', headers: bearer(forge(ACCESS_HEADER, claims({ roles: ['admin'] }), { secret: 'attacker-secret-attacker-secret-attacker!' })) })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  t.match(forged.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('requireScope needs every listed scope in the space-separated scope claim', async (t) => {
  const app = await buildApp(t)
  const all = await app.inject({ url: '/scoped', headers: bearer(await app.tokenAuth.sign({ sub: 'u1', scope: 'write:reports read:reports profile' })) })
  t.equal(all.statusCode, 200)
  for (const scope of ['read:reports', '', ['read:reports', 'write:reports'], undefined]) {
    const res = await app.inject({ url: '/scoped', headers: bearer(await app.tokenAuth.sign({ sub: 'u1', scope })) })
    t.equal(res.statusCode, 403, JSON.stringify(scope))
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
    t.match(res.headers['www-authenticate'], /error="insufficient_scope"/)
  }
})

t.test('a guard after authenticate reuses the verified claims', async (t) => {
  const app = await buildApp(t, {
    setup: (app) => app.get('/both', { onRequest: [app.authenticate, app.requireRole('admin')] }, async (request) => request.user.sub)
  })
  const res = await app.inject({ url: '/both', headers: bearer(await app.tokenAuth.sign({ sub: 'u9', roles: ['admin'] })) })
  t.equal(res.payload, 'u9')
})

t.test('a guard without names is a configuration error', async (t) => {
  const app = await buildApp(t)
  t.throws(() => app.requireRole(), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /requireRole needs one or more names/ })
  t.throws(() => app.requireScope('two words'), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /requireScope needs/ })
})
