import t from 'tap'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'
import { startLocalIssuer, type LocalIssuer } from './helpers/local-issuer.js'
import { accessToken, assertRefused, buildResourceServer, issuerOptions } from './helpers/resource-server.js'

// Attacks on a resource server, over HTTP against a real issuer on 127.0.0.1, that once
// succeeded: each test is the attack, and what the server must do instead.

/** Resolves once the issuer received `count` JWKS requests (real time, bounded). */
async function untilRequests (issuer: LocalIssuer, count: number): Promise<void> {
  for (let attempt = 0; issuer.requests < count && attempt < 200; attempt++) await new Promise((resolve) => setTimeout(resolve, 5))
}

t.test('a cached token whose key was withdrawn never leaves an unhandled rejection when the keys age out during a refetch', async (t) => {
  // An unhandled rejection ends a Node process: one client replaying an old token while the
  // issuer is down could stop the server for everyone.
  const rejections: unknown[] = []
  const onRejection = (reason: unknown): void => { rejections.push(reason) }
  process.on('unhandledRejection', onRejection)
  t.teardown(() => { process.off('unhandledRejection', onRejection) })
  const clock = new TestClock()
  const issuer = await startLocalIssuer(t)
  const jwks = { url: issuer.jwksUrl.href, timeout: '200ms', minAge: '1m', maxAge: '1m', staleWindow: '2m', cooldown: '30s' }
  const app = await buildResourceServer(t, [issuerOptions(issuer, { jwks })], { clock })
  const old = await accessToken(issuer, {}, { expiresIn: 3600 })
  t.equal((await app.inject({ url: '/me', headers: bearer(old) })).statusCode, 200, 'verified, and now cached')
  const { added } = issuer.rotate()
  clock.advance(31_000)
  const rotated = await app.inject({ url: '/me', headers: bearer(await accessToken(issuer, {}, { kid: added.kid })) })
  t.equal(rotated.statusCode, 200, 'the key set was fetched again, without the old key')
  issuer.hang()
  // Fresh for 1 minute after that fetch, then stale for 2: one second of the window left.
  clock.advance(60_000 + 120_000 - 1000)
  const answer = app.inject({ url: '/me', headers: bearer(old) })
  await untilRequests(issuer, 3)
  t.equal(issuer.requests, 3, 'the cached token made the key set fetch again')
  clock.advance(2000)
  assertRefused(t, await answer, { status: 503, code: 'FST_TOKEN_AUTH_KEYS_UNAVAILABLE' })
  // The rejection is reported after the microtasks of the answer: give it a turn.
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.same(rejections, [], 'no unhandled rejection')
})

t.test('a claim source that throws a falsy value answers 500, and never lets the request through', async (t) => {
  // Fastify's done(undefined) means success: an application bug in a claim function would
  // otherwise open a role-guarded route to anyone whose token triggers it.
  const issuer = await startLocalIssuer(t)
  const roles = (claims: Readonly<Record<string, unknown>>): unknown => {
    // eslint-disable-next-line no-throw-literal
    if (claims.odd === true) throw undefined
    return claims.roles
  }
  const clock = new TestClock()
  const app = await buildResourceServer(t, [issuerOptions(issuer, { profile: { roles } })], { clock })
  t.test('on the synchronous path (a known kid)', async (t) => {
    const res = await app.inject({ url: '/admin', headers: bearer(await accessToken(issuer, { odd: true })) })
    t.equal(res.statusCode, 500)
    t.notOk(res.json().admin, 'the route did not run')
  })
  t.test('on the asynchronous path (a kid that needs a fetch)', async (t) => {
    const added = issuer.addKey()
    clock.advance(31_000)
    const res = await app.inject({ url: '/admin', headers: bearer(await accessToken(issuer, { odd: true }, { kid: added.kid })) })
    t.equal(issuer.requests, 2, 'the key set was fetched for the new kid')
    t.equal(res.statusCode, 500)
    t.notOk(res.json().admin, 'the route did not run')
  })
})
