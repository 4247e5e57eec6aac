import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { build, ISSUER } from '../example-app/src/app.js'
import { buildReportsService } from '../example-app/src/reports-service.js'
import { DEMO_PASSWORD, exampleConfig } from './helpers/example-app.js'
import { bearer } from './helpers/forge.js'

// The example's two services as `npm start` runs them: the auth service listening on
// 127.0.0.1, and the reports service verifying its tokens through its JWKS and its
// revocation feed over HTTP, with no database and no secret of its own.

const FEED_CREDENTIAL = 'rZ0c6Yq1Xh3wVn8Lk2Tj5Ud9Sf4Mb7Ge1Pa0Qo6Wi3E'

interface Services { auth: FastifyInstance, reports: FastifyInstance, authOrigin: string }

async function startServices (t: Test): Promise<Services> {
  const auth = await build(await exampleConfig(t, { REPORTS_PORT: 'off' }), { logger: false, feedCredential: FEED_CREDENTIAL })
  t.teardown(async () => { await auth.close() })
  const authOrigin = await auth.listen({ host: '127.0.0.1', port: 0 })
  const reports = await buildReportsService({ authOrigin, issuer: ISSUER, feedCredential: FEED_CREDENTIAL, logger: false })
  t.teardown(async () => { await reports.close() })
  return { auth, reports, authOrigin }
}

async function loginAs (auth: FastifyInstance, username: string): Promise<string> {
  const res = await auth.inject({ method: 'POST', url: '/auth/login', payload: { username, password: DEMO_PASSWORD } })
  return res.json().access_token
}

/** Asks the reports service until `done` holds for its answer: the bound itself is tested with an injected clock elsewhere. */
async function eventually (reports: FastifyInstance, token: string, done: (status: number) => boolean): Promise<{ statusCode: number, json: () => any, headers: Record<string, unknown> }> {
  for (let attempt = 0; ; attempt++) {
    const res = await reports.inject({ url: '/whoami', headers: bearer(token) })
    if (done(res.statusCode) || attempt === 100) return res
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('the auth service publishes its Ed25519 public key, and the reports service verifies its tokens with it', async (t) => {
  const { auth, reports } = await startServices(t)
  const jwks = (await auth.inject({ url: '/.well-known/jwks.json' })).json()
  t.match(jwks, { keys: [{ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' }] })
  t.notOk('d' in jwks.keys[0], 'no private member is published')
  const demo = await loginAs(auth, 'demo')
  const whoami = await reports.inject({ url: '/whoami', headers: bearer(demo) })
  t.equal(whoami.statusCode, 200)
  t.match(whoami.json(), { sub: String, roles: ['admin'] })
  const list = await reports.inject({ url: '/reports', headers: bearer(demo) })
  t.equal(list.statusCode, 200)
  t.equal(list.json().reports[0].owner, whoami.json().sub)
})

t.test('the reports service refuses a missing token, a viewer on an admin route, and an expired token', async (t) => {
  const { auth, reports } = await startServices(t)
  const none = await reports.inject({ url: '/reports' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'FST_TOKEN_AUTH_NO_TOKEN')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="api"')
  const viewerToken = await loginAs(auth, 'viewer')
  t.same((await reports.inject({ url: '/whoami', headers: bearer(viewerToken) })).json().roles, [], 'a user without roles has none')
  const viewer = await reports.inject({ url: '/reports', headers: bearer(viewerToken) })
  t.equal(viewer.statusCode, 403)
  t.equal(viewer.json().code, 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE')
  t.match(viewer.headers['www-authenticate'], /error="insufficient_scope"/)
  const expired = await auth.tokenAuth.sign({ sub: 'x' }, { expiresIn: '1m', issuedAt: new Date(Date.now() - 3600_000) })
  const late = await reports.inject({ url: '/whoami', headers: bearer(expired) })
  t.equal(late.statusCode, 401)
  t.equal(late.json().code, 'FST_TOKEN_AUTH_TOKEN_EXPIRED')
  t.match(late.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('a logout at the auth service is refused by the reports service through the revocation feed', async (t) => {
  const { auth, reports } = await startServices(t)
  const token = await loginAs(auth, 'demo')
  t.equal((await reports.inject({ url: '/whoami', headers: bearer(token) })).statusCode, 200, 'accepted (and cached) before the logout')
  t.equal((await auth.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })).statusCode, 204)
  const after = await eventually(reports, token, (status) => status === 401)
  t.equal(after.statusCode, 401)
  t.equal(after.json().code, 'FST_TOKEN_AUTH_TOKEN_REVOKED')
  t.match(after.headers['www-authenticate'], /error="invalid_token"/)
  t.equal((await reports.inject({ url: '/whoami', headers: bearer(await loginAs(auth, 'demo')) })).statusCode, 200, 'a new session is accepted')
})

t.test('with the auth service down, the reports service fails closed: 503 with Retry-After once revocations are stale', async (t) => {
  const { auth, reports } = await startServices(t)
  const token = await loginAs(auth, 'demo')
  t.equal((await reports.inject({ url: '/whoami', headers: bearer(token) })).statusCode, 200)
  await auth.close()
  const down = await eventually(reports, token, (status) => status === 503)
  t.equal(down.statusCode, 503)
  t.equal(down.json().code, 'FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE')
  t.ok(Number(down.headers['retry-after']) >= 1)
})

t.test('the revocation feed refuses a reports service holding the wrong credential', async (t) => {
  const { auth } = await startServices(t)
  const res = await auth.inject({ url: '/auth/revocations?after=0', headers: bearer('W'.repeat(8) + FEED_CREDENTIAL.slice(8)) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_TOKEN')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('the reports service fetches keys over https only: plain http off localhost stops its start; https it tries, answering 503 until it has keys', async (t) => {
  await t.rejects(buildReportsService({ authOrigin: 'http://auth.example.com', issuer: ISSUER, feedCredential: FEED_CREDENTIAL, logger: false }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /must be an https:\/\/ URL/ })
  // Nothing listens on port 1: the fetches fail at once, as from an auth service that is down.
  const reports = await buildReportsService({ authOrigin: 'https://127.0.0.1:1', issuer: ISSUER, feedCredential: FEED_CREDENTIAL, logger: { level: 'silent' } })
  t.teardown(async () => { await reports.close() })
  const res = await reports.inject({ url: '/whoami', headers: bearer('a.b.c') })
  t.equal(res.statusCode, 401, 'a token that names no issuer it trusts is refused without any fetch')
  t.equal((await reports.inject({ url: '/healthz' })).statusCode, 200)
})
