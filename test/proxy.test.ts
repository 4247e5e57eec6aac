import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import tokenAuth, { createMemoryStore, type TokenAuthOptions } from 'fastify-token-auth'
import { buildApp, PASSWORD, SECRET } from './helpers/app.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { bearer } from './helpers/forge.js'
import { createUser } from './helpers/stores.js'

// Behind a reverse proxy every request comes from the proxy's address. The per-address
// login throttle and refresh/logout rate limits must count each client behind it, or 50
// bad logins through the proxy (the default maxAddressFailures) lock every user out.

const PROXY = '127.0.0.1'
const CLIENT_A = '203.0.113.10'
const CLIENT_B = '198.51.100.20'
const DEFAULT_MAX_ADDRESS_FAILURES = 50

async function setup (t: Test, auth: Partial<TokenAuthOptions> = {}, fastify: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const store = createMemoryStore()
  const hasher = new FastTestHasher()
  await createUser(store, { username: 'alice', password: PASSWORD }, hasher)
  return await buildApp(t, { auth: { store, passwords: { hasher }, ...auth }, routes: {}, fastify: { logger: false, ...fastify } })
}

async function loginThroughProxy (app: FastifyInstance, headers: Record<string, string>, username = 'alice', password = PASSWORD): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password, include_refresh_token: true }, remoteAddress: PROXY, headers })
}

const forwardedFor = (address: string): Record<string, string> => ({ 'x-forwarded-for': address })

/** As many failed logins as one address may make, each on another (unknown) account so no account locks. */
async function exhaustAddress (t: Test, app: FastifyInstance, headers: Record<string, string>, failures = DEFAULT_MAX_ADDRESS_FAILURES): Promise<void> {
  for (let i = 0; i < failures; i++) {
    const res = await loginThroughProxy(app, headers, `guesser-${i}`, 'wrong password')
    if (res.statusCode !== 401) t.fail(`failure ${i} answered ${res.statusCode}`)
  }
}

function assertThrottled (t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 429)
  t.equal(res.json().code, 'FST_TOKEN_AUTH_LOGIN_THROTTLED')
  t.equal(res.headers['www-authenticate'], undefined)
  t.match(res.headers['retry-after'], /^\d+$/)
}

t.test('behind a trusted proxy, the per-address login limit counts each client: A is locked out, B through the same proxy signs in', async (t) => {
  const app = await setup(t, {}, { trustProxy: PROXY })
  await exhaustAddress(t, app, forwardedFor(CLIENT_A))
  assertThrottled(t, await loginThroughProxy(app, forwardedFor(CLIENT_A)))
  t.equal((await loginThroughProxy(app, forwardedFor(CLIENT_B))).statusCode, 200, 'client B is not affected')
})

t.test('a client cannot leave its bucket by forging X-Forwarded-For: only the entry the trusted proxy appended counts', async (t) => {
  const app = await setup(t, { throttle: { maxAddressFailures: 2 } }, { trustProxy: ['10.0.0.0/8'] })
  const viaProxy = async (forged: string, username: string, password: string): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress: '10.1.2.3', headers: forwardedFor(`${forged}, ${CLIENT_A}`) })
  for (let i = 0; i < 2; i++) t.equal((await viaProxy(`192.0.2.${i}`, `guesser-${i}`, 'wrong password')).statusCode, 401)
  assertThrottled(t, await viaProxy('192.0.2.99', 'alice', PASSWORD))
  const clientB = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD }, remoteAddress: '10.1.2.3', headers: forwardedFor(`${CLIENT_A}, ${CLIENT_B}`) })
  t.equal(clientB.statusCode, 200, 'client B, even naming A in a forged entry, is not affected')
})

t.test('without trustProxy every client behind the proxy shares the proxy\'s bucket: 50 bad logins lock everyone out', async (t) => {
  const app = await setup(t)
  await exhaustAddress(t, app, forwardedFor(CLIENT_A))
  assertThrottled(t, await loginThroughProxy(app, forwardedFor(CLIENT_B)))
})

t.test('a clientAddress option reading a CDN\'s client header counts each client without trustProxy', async (t) => {
  const app = await setup(t, { clientAddress: (request) => request.headers['cf-connecting-ip'] as string })
  await exhaustAddress(t, app, { 'cf-connecting-ip': CLIENT_A })
  assertThrottled(t, await loginThroughProxy(app, { 'cf-connecting-ip': CLIENT_A }))
  t.equal((await loginThroughProxy(app, { 'cf-connecting-ip': CLIENT_B })).statusCode, 200)
})

t.test('IPv6 clients forwarded by the proxy count as their /64, whatever the clientAddress option returns', async (t) => {
  for (const [name, auth, fastify, header] of [
    ['trustProxy', {}, { trustProxy: PROXY }, 'x-forwarded-for'],
    ['clientAddress', { clientAddress: (request) => request.headers['cf-connecting-ip'] as string }, {}, 'cf-connecting-ip']
  ] as Array<[string, Partial<TokenAuthOptions>, FastifyServerOptions, string]>) {
    t.test(name, async (t) => {
      const app = await setup(t, { ...auth, throttle: { maxAddressFailures: 2 } }, fastify)
      await exhaustAddress(t, app, { [header]: '2001:db8:1:2::a' }, 1)
      await exhaustAddress(t, app, { [header]: '2001:DB8:1:2:0:0:0:b' }, 1)
      assertThrottled(t, await loginThroughProxy(app, { [header]: '2001:db8:1:2:ffff::1' }))
      t.equal((await loginThroughProxy(app, { [header]: '2001:db8:1:3::1' })).statusCode, 200, 'another /64 is not affected')
    })
  }
})

t.test('behind a trusted proxy, refreshes and logouts are rate limited per client, not per proxy', async (t) => {
  const app = await setup(t, { session: { perAddressPerMinute: 2 } }, { trustProxy: PROXY })
  const sessions = []
  for (let i = 0; i < 3; i++) sessions.push((await loginThroughProxy(app, forwardedFor(`192.0.2.${i}`))).json())
  const refresh = async (refreshToken: string, client: string): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken }, remoteAddress: PROXY, headers: forwardedFor(client) })
  t.equal((await refresh(sessions[0].refresh_token, CLIENT_A)).statusCode, 200)
  t.equal((await refresh(sessions[1].refresh_token, CLIENT_A)).statusCode, 200)
  const limited = await refresh(sessions[2].refresh_token, CLIENT_A)
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().code, 'FST_TOKEN_AUTH_RATE_LIMITED')
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { ...bearer(sessions[2].access_token), ...forwardedFor(CLIENT_A) }, remoteAddress: PROXY })
  t.equal(logout.statusCode, 429, 'logout counts against the same client')
  t.equal(logout.json().code, 'FST_TOKEN_AUTH_RATE_LIMITED')
  t.equal((await refresh(sessions[2].refresh_token, CLIENT_B)).statusCode, 200, 'client B is not affected')
})

t.test('behind a trusted proxy, wrong current passwords on a password change are throttled per client', async (t) => {
  const app = await setup(t, { throttle: { maxAddressFailures: 2, maxAccountFailures: 100 } }, { trustProxy: PROXY })
  const { access_token: accessToken } = (await loginThroughProxy(app, forwardedFor('192.0.2.1'))).json()
  const change = async (currentPassword: string, client: string): Promise<LightMyRequestResponse> => await app.inject({
    method: 'POST',
    url: '/auth/password',
    payload: { current_password: currentPassword, new_password: 'another long password' },
    headers: { ...bearer(accessToken), ...forwardedFor(client) },
    remoteAddress: PROXY
  })
  for (let i = 0; i < 2; i++) {
    const refused = await change('wrong password', CLIENT_A)
    t.equal(refused.statusCode, 401)
    t.equal(refused.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  }
  assertThrottled(t, await change(PASSWORD, CLIENT_A))
  t.equal((await change(PASSWORD, CLIENT_B)).statusCode, 200, 'client B is not affected')
})

/** Warnings the app logged, parsed. */
function logCapture (): { stream: Writable, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()))
      callback()
    }
  })
  return { stream, lines }
}

t.test('a clientAddress that throws or gives no usable address falls back to request.ip, never a 500, and is logged once', async (t) => {
  const log = logCapture()
  const outcomes = ['throw', 'missing', 'empty', 'number', 'long', 'null']
  let call = 0
  const app = await setup(t, {
    throttle: { maxAddressFailures: outcomes.length },
    clientAddress: () => {
      const outcome = outcomes[call++ % outcomes.length]
      if (outcome === 'throw') throw new Error('no client header')
      return ({ missing: undefined, empty: '', number: 42, long: 'x'.repeat(129), null: null } as Record<string, unknown>)[outcome] as string
    }
  }, { logger: { level: 'warn', stream: log.stream } })
  for (let i = 0; i < outcomes.length; i++) {
    const res = await loginThroughProxy(app, forwardedFor(`192.0.2.${i}`), `guesser-${i}`, 'wrong password')
    t.equal(res.statusCode, 401, `${outcomes[i]}: a refused login, not a 500`)
    t.equal(res.json().code, 'FST_TOKEN_AUTH_INVALID_CREDENTIALS')
  }
  assertThrottled(t, await loginThroughProxy(app, { 'x-forwarded-for': CLIENT_B }))
  const warnings = log.lines.filter((line) => String(line.msg).startsWith('the clientAddress option gave no usable address'))
  t.equal(warnings.length, 1, 'one warning, however many requests fell back')
  t.match(warnings[0], { level: 40, err: { message: 'no client header' } })
})

t.test('the fallback warning for a bad return value names its type, not its value', async (t) => {
  const log = logCapture()
  const app = await setup(t, { clientAddress: () => 'y'.repeat(200) }, { logger: { level: 'warn', stream: log.stream } })
  t.equal((await loginThroughProxy(app, {})).statusCode, 200)
  const [warning] = log.lines.filter((line) => String(line.msg).startsWith('the clientAddress option'))
  t.match(warning, { returned: 'a string of 200 characters' })
  t.notMatch(JSON.stringify(warning), /yyyy/)
})

t.test('registration fails for a clientAddress that is not a function', async (t) => {
  const app = Fastify()
  t.teardown(async () => { await app.close() })
  await t.rejects(async () => {
    await app.register(tokenAuth, { secret: SECRET, clientAddress: 'cf-connecting-ip' as never })
    await app.ready()
  }, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /clientAddress must be a function/ })
})
