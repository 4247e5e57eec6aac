import t from 'tap'
import { accessTokens } from './helpers/access-tokens.js'
import { buildApp } from './helpers/app.js'
import { TestClock } from './helpers/clock.js'
import { bearer } from './helpers/forge.js'

// sign(claims, { issuedAt }) backdates a token, so a test can hold an already-expired one
// without waiting; a time in the future is refused, since such a token could outlive the
// user-wide revocations made before it.

const NOW_MS = Date.UTC(2030, 0, 1)
const HOUR = 3600

function payloadOf (token: string): Record<string, number> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
}

t.test('a token issued an hour ago for 15 minutes is refused over HTTP as expired: 401 invalid_token', async (t) => {
  const app = await buildApp(t, { auth: { clock: new TestClock(NOW_MS) } })
  for (const issuedAt of [new Date(NOW_MS - HOUR * 1000), NOW_MS / 1000 - HOUR]) {
    const token = await app.tokenAuth.sign({ sub: 'u1' }, { expiresIn: '15m', issuedAt })
    t.same(payloadOf(token).iat, NOW_MS / 1000 - HOUR)
    t.same(payloadOf(token).exp, NOW_MS / 1000 - HOUR + 900, 'exp counts from issuedAt')
    const res = await app.inject({ url: '/me', headers: bearer(token) })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_TOKEN_EXPIRED')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token expired"')
    await t.rejects(app.tokenAuth.verify(token), { code: 'FST_TOKEN_AUTH_TOKEN_EXPIRED' })
  }
})

t.test('a token issued ten minutes ago for 15 minutes is still accepted', async (t) => {
  const app = await buildApp(t, { auth: { clock: new TestClock(NOW_MS) } })
  const token = await app.tokenAuth.sign({ sub: 'u1' }, { expiresIn: '15m', issuedAt: new Date(NOW_MS - 600_000) })
  const res = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().sub, 'u1')
})

t.test('issuedAt in the future beyond clockTolerance is a TypeError; within it, accepted', async (t) => {
  const app = await buildApp(t, { auth: { clock: new TestClock(NOW_MS), clockTolerance: 5 } })
  const token = await app.tokenAuth.sign({ sub: 'u1' }, { issuedAt: NOW_MS / 1000 + 5 })
  t.equal(payloadOf(token).iat, NOW_MS / 1000 + 5)
  await t.rejects(app.tokenAuth.sign({ sub: 'u1' }, { issuedAt: NOW_MS / 1000 + 6 }), { name: 'TypeError', message: /issuedAt must not be in the future/ })
  await t.rejects(app.tokenAuth.sign({ sub: 'u1' }, { issuedAt: NOW_MS }), { name: 'TypeError', message: /seconds since the epoch, not milliseconds/ }, 'milliseconds by mistake')
  await t.rejects(app.tokenAuth.sign({ sub: 'u1' }, { issuedAt: new Date(NOW_MS + 60_000) }), TypeError)
})

t.test('issuedAt that is no time is a TypeError, as a bad expiresIn is', async (t) => {
  const app = await buildApp(t)
  for (const issuedAt of [Number.NaN, Infinity, -Infinity, -1, new Date('not a date'), '2030-01-01', null]) {
    await t.rejects(app.tokenAuth.sign({ sub: 'u1' }, { issuedAt: issuedAt as never }), { name: 'TypeError', message: /issuedAt must be a Date or a (finite )?number of seconds since the epoch/ }, String(issuedAt))
  }
})

t.test('AccessTokens.sign takes issuedAt in seconds from the injected clock\'s epoch; the session entry point cannot', async (t) => {
  const clock = new TestClock(NOW_MS)
  const tokens = accessTokens({ clock })
  const signed = tokens.sign({ sub: 'u1' }, 60, NOW_MS / 1000 - 61.5)
  t.same({ iat: signed.iat, exp: signed.exp }, { iat: NOW_MS / 1000 - 62, exp: NOW_MS / 1000 - 2 })
  t.throws(() => tokens.verify(signed.token), { code: 'FST_TOKEN_AUTH_TOKEN_EXPIRED' })
  t.equal(tokens.sign({ sub: 'u1' }, 60, NOW_MS / 1000).iat, NOW_MS / 1000, 'now itself is allowed with no tolerance')
  t.throws(() => tokens.sign({ sub: 'u1' }, 60, NOW_MS / 1000 + 1), TypeError)
  t.equal(tokens.sign({ sub: 'u1' }).iat, NOW_MS / 1000, 'default: now')
})
