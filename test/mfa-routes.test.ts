import Fastify from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { createMemoryStore, mfaRoutes } from 'fastify-token-auth'
import { PASSWORD, SECRET } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import {
  addPasskey, ADDRESS, assertRefused, BARE_CHALLENGE, browserCookies, enrollTotp, INSUFFICIENT_SCOPE, INVALID_TOKEN, MFA_KEY, mfaApp, mfaRequest,
  mfaSession, nextStep, ORIGIN, passwordLogin, passwordSession, totpNow, VALIDATION, type MfaApp, type Response
} from './helpers/mfa-app.js'
import { SoftAuthenticator } from './helpers/soft-authenticator.js'

// The signed-in user's second factors over HTTP, under /auth/mfa: status, TOTP on and off,
// recovery codes, passkeys. By a session's access token only; once the user has a second
// factor, only from a session signed in with one; JSON only; never cached.

const CONFLICT = 'FST_TOKEN_AUTH_MFA_CONFLICT'
const MFA_REQUIRED = 'FST_TOKEN_AUTH_MFA_REQUIRED'
const BAD_REQUEST = 'FST_TOKEN_AUTH_INVALID_MFA_REQUEST'
const INVALID_CODE = 'FST_TOKEN_AUTH_INVALID_MFA_CODE'
const INVALID_CREDENTIALS = 'FST_TOKEN_AUTH_INVALID_CREDENTIALS'
const NOT_FOUND = 'FST_TOKEN_AUTH_PASSKEY_NOT_FOUND'

/** alice with TOTP on, and a session of hers signed in with a code. */
async function withTotp (t: Test, options: Parameters<typeof mfaApp>[1] = {}): Promise<MfaApp & { secret: string, recoveryCodes: string[], token: string }> {
  const built = await mfaApp(t, options)
  const { secret, recoveryCodes } = await enrollTotp(built.app, built.clock, await passwordSession(built.app))
  const token = await mfaSession(built.app, built.clock, secret)
  built.events.length = 0
  return { ...built, secret, recoveryCodes: recoveryCodes as string[], token }
}

function assertNoStore (t: Test, res: Response): void {
  t.equal(res.headers['cache-control'], 'no-store', 'no-store')
}

t.test('TOTP enrollment: GET / says off, POST /totp gives secret, URI and QR code (pending), POST /totp/confirm turns it on with recovery codes', async (t) => {
  const { app, clock, events, alice } = await mfaApp(t)
  const token = await passwordSession(app)
  const off = await mfaRequest(app, token, 'GET', '/')
  t.equal(off.statusCode, 200)
  assertNoStore(t, off)
  t.same(off.json(), { totp: 'off', recovery_codes_left: 0, passkeys: [] })

  const begun = await mfaRequest(app, token, 'POST', '/totp', { current_password: PASSWORD })
  t.equal(begun.statusCode, 200)
  assertNoStore(t, begun)
  const { secret, uri, qr_svg: qrSvg } = begun.json()
  t.match(secret, /^[A-Z2-7]{32}$/)
  t.equal(uri, `otpauth://totp/api:alice?secret=${secret as string}&issuer=api&algorithm=SHA1&digits=6&period=30`)
  t.match(qrSvg, /^<svg[\s\S]*<\/svg>\s*$/)
  t.same((await mfaRequest(app, token, 'GET', '/')).json().totp, 'pending')
  t.equal((await passwordLogin(app)).json().access_token !== undefined, true, 'a pending enrollment is no factor yet')

  const confirmed = await mfaRequest(app, token, 'POST', '/totp/confirm', { code: totpNow(secret, clock) })
  t.equal(confirmed.statusCode, 200)
  assertNoStore(t, confirmed)
  const codes: string[] = confirmed.json().recovery_codes
  t.equal(codes.length, 10)
  for (const code of codes) t.match(code, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/)
  t.same((await mfaRequest(app, token, 'GET', '/')).json(), { totp: 'on', recovery_codes_left: 10, passkeys: [] })
  t.match(events.filter((event) => event.type.startsWith('mfa.')), [
    { type: 'mfa.totp_enabled', userId: alice.id, address: ADDRESS },
    { type: 'mfa.recovery_codes_generated', userId: alice.id, count: 10 }
  ])
  t.equal((await passwordLogin(app)).json().mfa_required, true, 'the next login has two steps')
})

t.test('TOTP enrollment refusals: a wrong password 401, a wrong code 401 (both bare), nothing pending or TOTP on already 409', async (t) => {
  const { app, clock } = await mfaApp(t)
  const token = await passwordSession(app)
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp', { current_password: 'not the password' }), 401, BARE_CHALLENGE, INVALID_CREDENTIALS, 'wrong password')
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/confirm', { code: '123456' }), 409, undefined, CONFLICT, 'nothing pending')
  const { secret } = (await mfaRequest(app, token, 'POST', '/totp', { current_password: PASSWORD })).json()
  const right = totpNow(secret, clock)
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/confirm', { code: right === '000000' ? '000001' : '000000' }), 401, BARE_CHALLENGE, INVALID_CODE, 'wrong code')
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/confirm', { code: 'not digits' }), 401, BARE_CHALLENGE, INVALID_CODE, 'no code at all')
  t.equal((await mfaRequest(app, token, 'POST', '/totp/confirm', { code: right })).statusCode, 200)
  nextStep(clock)
  // TOTP is on: the password-only session may no longer change factors, and a session with a code gets 409.
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp', { current_password: PASSWORD }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED, 'password-only session')
  const strong = await mfaSession(app, clock, secret)
  assertRefused(t, await mfaRequest(app, strong, 'POST', '/totp', { current_password: PASSWORD }), 409, undefined, CONFLICT, 'on already')
  assertRefused(t, await mfaRequest(app, strong, 'POST', '/totp/confirm', { code: totpNow(secret, clock) }), 409, undefined, CONFLICT, 'nothing pending once on')
})

t.test('once the user has a second factor, a password-only session can read the status but change nothing: 403 MFA_REQUIRED', async (t) => {
  const { app, clock } = await mfaApp(t)
  // A session from before TOTP was on: the password alone.
  const bob = await passwordSession(app, 'bob')
  await enrollTotp(app, clock, bob)
  const writes: Array<[ 'POST' | 'PATCH' | 'DELETE', string, unknown]> = [
    ['POST', '/totp', { current_password: PASSWORD }],
    ['POST', '/totp/confirm', { code: '123456' }],
    ['POST', '/totp/disable', { current_password: PASSWORD, code: '123456' }],
    ['POST', '/recovery-codes', { current_password: PASSWORD }],
    ['POST', '/passkeys/options', { current_password: PASSWORD }],
    ['POST', '/passkeys', { name: 'k', response: new SoftAuthenticator({ origin: ORIGIN }).register({ challenge: 'A'.repeat(43), rp: { id: 'localhost' }, user: { id: 'AAAA' } }) }],
    ['PATCH', '/passkeys/AAAA', { name: 'k' }],
    ['DELETE', '/passkeys/AAAA', { current_password: PASSWORD }]
  ]
  for (const [method, path, payload] of writes) {
    assertRefused(t, await mfaRequest(app, bob, method, path, payload), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED, `${method} ${path}`)
  }
  t.equal((await mfaRequest(app, bob, 'GET', '/')).json().totp, 'on', 'the status is readable')
})

t.test('a token without a session (application-signed) reads the status but changes nothing: 403 MFA_REQUIRED', async (t) => {
  const { app, alice } = await mfaApp(t)
  const signed = await app.tokenAuth.sign({ sub: alice.id })
  t.equal((await mfaRequest(app, signed, 'GET', '/')).statusCode, 200)
  assertRefused(t, await mfaRequest(app, signed, 'POST', '/totp', { current_password: PASSWORD }), 403, INSUFFICIENT_SCOPE, MFA_REQUIRED)
})

t.test('POST /totp/disable with the password and a code turns TOTP off (204) and, the last factor gone, the recovery codes too', async (t) => {
  const { app, clock, secret, token, events, alice } = await withTotp(t)
  const res = await mfaRequest(app, token, 'POST', '/totp/disable', { current_password: PASSWORD, code: totpNow(secret, clock) })
  t.equal(res.statusCode, 204)
  assertNoStore(t, res)
  t.same((await mfaRequest(app, token, 'GET', '/')).json(), { totp: 'off', recovery_codes_left: 0, passkeys: [] })
  t.match(events.filter((event) => event.type === 'mfa.totp_disabled'), [{ userId: alice.id }])
  t.type((await passwordLogin(app)).json().access_token, 'string', 'the password alone again')
})

t.test('POST /totp/disable with a recovery code works too; refusals: both or neither 400, wrong password or code 401, TOTP off 409', async (t) => {
  const { app, clock, secret, token, recoveryCodes } = await withTotp(t)
  for (const payload of [{ current_password: PASSWORD }, { current_password: PASSWORD, code: totpNow(secret, clock), recovery_code: recoveryCodes[0] }]) {
    assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/disable', payload), 400, undefined, BAD_REQUEST, JSON.stringify(Object.keys(payload)))
  }
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/disable', { current_password: 'wrong password', code: totpNow(secret, clock) }), 401, BARE_CHALLENGE, INVALID_CREDENTIALS, 'wrong password')
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/disable', { current_password: PASSWORD, recovery_code: 'zzzzz-zzzzz' }), 401, BARE_CHALLENGE, INVALID_CODE, 'wrong recovery code')
  t.equal((await mfaRequest(app, token, 'POST', '/totp/disable', { current_password: PASSWORD, recovery_code: recoveryCodes[1] })).statusCode, 204)
  assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/disable', { current_password: PASSWORD, code: totpNow(secret, clock) }), 409, undefined, CONFLICT, 'off already')
})

t.test('POST /recovery-codes makes a new set and voids the old; 409 for a user without a factor, 401 for a wrong password', async (t) => {
  const { app, token, recoveryCodes } = await withTotp(t)
  const res = await mfaRequest(app, token, 'POST', '/recovery-codes', { current_password: PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoStore(t, res)
  const fresh: string[] = res.json().recovery_codes
  t.equal(fresh.length, 10)
  t.notOk(fresh.some((code) => recoveryCodes.includes(code)))
  const login = async (code: string): Promise<Response> => await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: (await passwordLogin(app)).json().mfa_token, recovery_code: code }, remoteAddress: ADDRESS })
  assertRefused(t, await login(recoveryCodes[0]), 401, BARE_CHALLENGE, INVALID_CODE, 'an old code')
  t.equal((await login(fresh[0])).statusCode, 200, 'a new one')
  assertRefused(t, await mfaRequest(app, token, 'POST', '/recovery-codes', { current_password: 'wrong password' }), 401, BARE_CHALLENGE, INVALID_CREDENTIALS)
  const bob = await passwordSession(app, 'bob')
  assertRefused(t, await mfaRequest(app, bob, 'POST', '/recovery-codes', { current_password: PASSWORD }), 409, undefined, CONFLICT, 'no factor')
})

t.test('passkeys: options (discoverable, none twice), POST /passkeys 201 with recovery codes for a first factor, listed in the status', async (t) => {
  const { app, alice, events } = await mfaApp(t)
  const token = await passwordSession(app)
  const options = await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })
  t.equal(options.statusCode, 200)
  assertNoStore(t, options)
  t.match(options.json(), {
    rp: { id: 'localhost', name: 'api' },
    user: { id: Buffer.from(alice.id).toString('base64url'), name: 'alice' },
    attestation: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    excludeCredentials: []
  })
  const authenticator = new SoftAuthenticator({ origin: ORIGIN })
  const res = await mfaRequest(app, token, 'POST', '/passkeys', { name: ' My laptop ', response: authenticator.register(options.json()) })
  t.equal(res.statusCode, 201)
  assertNoStore(t, res)
  const { passkey, recovery_codes: codes } = res.json()
  t.same(passkey, { id: authenticator.id, name: 'My laptop', created_at: passkey.created_at, last_used_at: null, backed_up: false, device_type: 'singleDevice', transports: ['internal'] })
  t.equal(codes.length, 10, 'the first factor comes with recovery codes')
  t.match(events.filter((event) => event.type === 'passkey.added'), [{ userId: alice.id, passkeyId: authenticator.id }])
  t.same((await mfaRequest(app, token, 'GET', '/')).json(), { totp: 'off', recovery_codes_left: 10, passkeys: [passkey] })
  // Now a factor: changes need a session signed in with one, e.g. by this passkey.
  const signIn = await app.inject({ method: 'POST', url: '/auth/login/passkey/options', remoteAddress: ADDRESS })
  const strong = (await app.inject({ method: 'POST', url: '/auth/login/passkey', payload: { response: authenticator.assert(signIn.json()) }, remoteAddress: ADDRESS })).json().access_token
  const second = await addPasskey(app, strong, 'phone')
  t.equal(second.res.statusCode, 201)
  t.notOk('recovery_codes' in second.res.json(), 'no new codes for a second factor')
  const again = await mfaRequest(app, strong, 'POST', '/passkeys/options', { current_password: PASSWORD })
  t.same(again.json().excludeCredentials.map((credential: { id: string }) => credential.id).sort(), [authenticator.id, second.authenticator.id].sort())
})

t.test('POST /passkeys refusals: a response that does not verify, a challenge of another session or used already 400; a passkey registered twice 409', async (t) => {
  const { app, token } = await withTotp(t)
  const options = async (): Promise<{ challenge: string, rp: { id?: string }, user: { id: string } }> =>
    (await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })).json()
  const authenticator = new SoftAuthenticator({ origin: ORIGIN })
  for (const [name, response] of [
    ['another origin', authenticator.register(await options(), { origin: 'https://evil.example' })],
    ['another relying party', authenticator.register(await options(), { rpId: 'evil.example' })],
    ['a challenge we never gave', authenticator.register(await options(), { challenge: 'A'.repeat(43) })],
    ['a get ceremony\'s type', authenticator.register(await options(), { type: 'webauthn.get' })],
    ['no user presence', authenticator.register(await options(), { userPresent: false })]
  ] as const) {
    assertRefused(t, await mfaRequest(app, token, 'POST', '/passkeys', { name: 'k', response }), 400, undefined, BAD_REQUEST, name)
  }
  const good = authenticator.register(await options())
  t.equal((await mfaRequest(app, token, 'POST', '/passkeys', { name: 'k', response: good })).statusCode, 201)
  assertRefused(t, await mfaRequest(app, token, 'POST', '/passkeys', { name: 'k', response: good }), 400, undefined, BAD_REQUEST, 'the same response again: its challenge is spent')
  assertRefused(t, await mfaRequest(app, token, 'POST', '/passkeys', { name: 'k', response: authenticator.register(await options()) }), 409, undefined, CONFLICT, 'registered already')
})

t.test('a registration challenge is bound to the session that asked for it', async (t) => {
  const { app, clock, secret, token } = await withTotp(t)
  const other = await mfaSession(app, clock, secret)
  const options = (await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })).json()
  const response = new SoftAuthenticator({ origin: ORIGIN }).register(options)
  assertRefused(t, await mfaRequest(app, other, 'POST', '/passkeys', { name: 'k', response }), 400, undefined, BAD_REQUEST, 'another session')
  assertRefused(t, await mfaRequest(app, token, 'POST', '/passkeys', { name: 'k', response }), 400, undefined, BAD_REQUEST, 'spent by the refused try')
})

t.test('past mfa.passkeys.maxPerUser: options and registration are 409 PASSKEY_LIMIT', async (t) => {
  const { app, token } = await withTotp(t, { mfa: { encryptionKey: MFA_KEY, passkeys: { rpId: 'localhost', origins: ORIGIN, maxPerUser: 1 } } })
  const options = (await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })).json()
  const late = (await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })).json()
  t.equal((await mfaRequest(app, token, 'POST', '/passkeys', { name: 'one', response: new SoftAuthenticator({ origin: ORIGIN }).register(options) })).statusCode, 201)
  assertRefused(t, await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD }), 409, undefined, 'FST_TOKEN_AUTH_PASSKEY_LIMIT', 'options')
  assertRefused(t, await mfaRequest(app, token, 'POST', '/passkeys', { name: 'two', response: new SoftAuthenticator({ origin: ORIGIN }).register(late) }), 409, undefined, 'FST_TOKEN_AUTH_PASSKEY_LIMIT', 'registration')
})

t.test('PATCH and DELETE /passkeys/:id rename and remove the user\'s own; another user\'s or an unknown id is the same 404', async (t) => {
  const { app, token, events, alice } = await withTotp(t)
  const { authenticator, res } = await addPasskey(app, token, 'old')
  t.equal(res.statusCode, 201)
  const renamed = await mfaRequest(app, token, 'PATCH', `/passkeys/${authenticator.id}`, { name: '  new name ' })
  t.equal(renamed.statusCode, 200)
  assertNoStore(t, renamed)
  t.same(renamed.json(), { ...res.json().passkey, name: 'new name' })
  t.match(events.filter((event) => event.type === 'passkey.renamed'), [{ userId: alice.id, passkeyId: authenticator.id }])
  assertRefused(t, await mfaRequest(app, token, 'PATCH', `/passkeys/${authenticator.id}`, { name: 'bad\u0000name' }), 400, undefined, BAD_REQUEST, 'a control character')
  assertRefused(t, await mfaRequest(app, token, 'PATCH', `/passkeys/${authenticator.id}`, { name: '   ' }), 400, undefined, BAD_REQUEST, 'blank')

  const bob = await passwordSession(app, 'bob')
  const bobs = await addPasskey(app, bob, 'bob\'s')
  const answers: unknown[] = []
  // Credential ids may be far longer than Fastify's 100-character route parameters: 1364 is the longest.
  for (const id of [bobs.authenticator.id, 'AAAAAAAAAAAAAAAAAAAAAA', 'A'.repeat(1364)]) {
    for (const [method, payload] of [['PATCH', { name: 'mine now' }], ['DELETE', { current_password: PASSWORD }]] as const) {
      const refused = await mfaRequest(app, token, method, `/passkeys/${id}`, payload)
      assertRefused(t, refused, 404, undefined, NOT_FOUND, `${method} ${id}`)
      answers.push(refused.json())
    }
  }
  t.ok(answers.every((answer) => JSON.stringify(answer) === JSON.stringify(answers[0])), 'nothing tells another user\'s passkey from none')

  assertRefused(t, await mfaRequest(app, token, 'DELETE', `/passkeys/${authenticator.id}`, { current_password: 'wrong password' }), 401, BARE_CHALLENGE, INVALID_CREDENTIALS)
  const removed = await mfaRequest(app, token, 'DELETE', `/passkeys/${authenticator.id}`, { current_password: PASSWORD })
  t.equal(removed.statusCode, 204)
  assertNoStore(t, removed)
  t.match(events.filter((event) => event.type === 'passkey.removed'), [{ userId: alice.id, passkeyId: authenticator.id }])
  t.same((await mfaRequest(app, token, 'GET', '/')).json().passkeys, [])
  t.equal((await mfaRequest(app, token, 'GET', '/')).json().recovery_codes_left, 10, 'TOTP remains: the codes stay')
})

t.test('removing the last factor removes the recovery codes', async (t) => {
  const { app } = await mfaApp(t)
  const { authenticator, res } = await addPasskey(app, await passwordSession(app))
  t.equal(res.json().recovery_codes.length, 10)
  const signIn = await app.inject({ method: 'POST', url: '/auth/login/passkey/options', remoteAddress: ADDRESS })
  const strong = (await app.inject({ method: 'POST', url: '/auth/login/passkey', payload: { response: authenticator.assert(signIn.json()) }, remoteAddress: ADDRESS })).json().access_token
  t.equal((await mfaRequest(app, strong, 'DELETE', `/passkeys/${authenticator.id}`, { current_password: PASSWORD })).statusCode, 204)
  t.same((await mfaRequest(app, strong, 'GET', '/')).json(), { totp: 'off', recovery_codes_left: 0, passkeys: [] })
})

const ROUTES: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown]> = [
  ['GET', '/', undefined],
  ['POST', '/totp', { current_password: PASSWORD }],
  ['POST', '/totp/confirm', { code: '123456' }],
  ['POST', '/totp/disable', { current_password: PASSWORD, code: '123456' }],
  ['POST', '/recovery-codes', { current_password: PASSWORD }],
  ['POST', '/passkeys/options', { current_password: PASSWORD }],
  ['POST', '/passkeys', { name: 'k', response: new SoftAuthenticator({ origin: ORIGIN }).register({ challenge: 'A'.repeat(43), rp: { id: 'localhost' }, user: { id: 'AAAA' } }) }],
  ['PATCH', '/passkeys/AAAA', { name: 'k' }],
  ['DELETE', '/passkeys/AAAA', { current_password: PASSWORD }]
]

t.test('every route: no token is the bare 401, a bad one invalid_token, an expired one invalid_token', async (t) => {
  const { app, clock } = await mfaApp(t)
  const token = await passwordSession(app)
  clock.advance(3600_000)
  for (const [method, path, payload] of ROUTES) {
    const body = payload === undefined ? {} : { payload: payload as object }
    assertRefused(t, await app.inject({ method, url: `/auth/mfa${path}`, ...body }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_NO_TOKEN', `${method} ${path}`)
    assertRefused(t, await app.inject({ method, url: `/auth/mfa${path}`, headers: bearer('not.a.token'), ...body }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_TOKEN', `${method} ${path}`)
    assertRefused(t, await app.inject({ method, url: `/auth/mfa${path}`, headers: bearer(token), ...body }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_TOKEN_EXPIRED', `${method} ${path}`)
  }
})

t.test('every route refuses an API key, even with apiKeys.allowByDefault: a key cannot add or remove a factor', async (t) => {
  const { app, alice, store } = await mfaApp(t, { auth: { apiKeys: { scopes: { 'reports:read': true }, allowByDefault: true } } })
  const { key } = await app.tokenAuth.apiKeys.create(alice.id, { name: 'k', scopes: [] })
  t.equal((await app.inject({ url: '/me', headers: bearer(key) })).statusCode, 200, 'allowed by default elsewhere')
  for (const [method, path, payload] of ROUTES) {
    const res = await app.inject({ method, url: `/auth/mfa${path}`, headers: bearer(key), ...(payload === undefined ? {} : { payload: payload as object }) })
    assertRefused(t, res, 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED', `${method} ${path}`)
  }
  t.equal(await store.totp.find(alice.id), undefined, 'nothing staged')
})

t.test('by cookie: the status needs no CSRF token; every change without the session\'s CSRF token is 403 and changes nothing', async (t) => {
  const { app, alice, store } = await mfaApp(t)
  const login = await passwordLogin(app, 'alice', {}, { 'sec-fetch-site': 'same-origin' })
  const { cookie, csrf } = browserCookies(app, login)
  t.equal((await app.inject({ url: '/auth/mfa', headers: { cookie } })).statusCode, 200)
  for (const [method, path, payload] of ROUTES.slice(1)) {
    for (const headers of [{ cookie }, { cookie, 'x-csrf-token': 'wrong' }, { cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }]) {
      const res = await app.inject({ method, url: `/auth/mfa${path}`, headers, payload: payload as object })
      assertRefused(t, res, 403, undefined, 'FST_TOKEN_AUTH_CSRF', `${method} ${path}`)
    }
  }
  t.equal(await store.totp.find(alice.id), undefined, 'nothing staged')
  const begun = await app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: { cookie, 'x-csrf-token': csrf }, payload: { current_password: PASSWORD } })
  t.equal(begun.statusCode, 200, 'with the CSRF token')
})

t.test('bodies the schema refuses: 400 FST_ERR_VALIDATION without a challenge, nothing changed', async (t) => {
  const { app, token, alice, store } = await withTotp(t)
  const registration = new SoftAuthenticator({ origin: ORIGIN }).register({ challenge: 'A'.repeat(43), rp: { id: 'localhost' }, user: { id: 'AAAA' } })
  const refused: Array<['POST' | 'PATCH' | 'DELETE', string, unknown]> = [
    ['POST', '/totp', {}],
    ['POST', '/totp', { current_password: '' }],
    ['POST', '/totp', { current_password: 'x'.repeat(1025) }],
    ['POST', '/totp', { current_password: 42 }],
    ['POST', '/totp', { current_password: PASSWORD, extra: 1 }],
    ['POST', '/totp/confirm', { code: 123456 }],
    ['POST', '/totp/confirm', { code: '1'.repeat(65) }],
    ['POST', '/totp/confirm', {}],
    ['POST', '/totp/disable', { code: '123456' }],
    ['POST', '/totp/disable', { current_password: PASSWORD, code: ['123456'] }],
    ['POST', '/recovery-codes', { current_password: null }],
    ['POST', '/passkeys/options', { current_password: [PASSWORD] }],
    ['POST', '/passkeys', { name: 'k' }],
    ['POST', '/passkeys', { response: registration }],
    ['POST', '/passkeys', { name: 'x'.repeat(101), response: registration }],
    ['POST', '/passkeys', { name: 'k', response: { ...registration, extra: 1 } }],
    ['POST', '/passkeys', { name: 'k', response: { ...registration, response: { ...registration.response, attestationObject: 'A'.repeat(16385) } } }],
    ['POST', '/passkeys', { name: 'k', response: { ...registration, response: { ...registration.response, transports: ['usb', 'USB!'] } } }],
    ['POST', '/passkeys', { name: 'k', response: { ...registration, response: { ...registration.response, transports: Array(11).fill('usb') } } }],
    ['POST', '/passkeys', { name: 'k', response: { ...registration, response: { ...registration.response, publicKeyAlgorithm: 'ES256' } } }],
    ['POST', '/passkeys', { name: 'k', response: { ...registration, response: { ...registration.response, attestationObject: 'not base64url!' } } }],
    ['PATCH', '/passkeys/AAAA', {}],
    ['PATCH', '/passkeys/AAAA', { name: 'k', extra: 1 }],
    ['PATCH', '/passkeys/not%20base64url', { name: 'k' }],
    ['PATCH', `/passkeys/${'A'.repeat(1365)}`, { name: 'k' }],
    ['PATCH', '/passkeys/AAAA/BBBB', { name: 'k' }],
    ['PATCH', '/passkeys/', { name: 'k' }],
    ['DELETE', '/passkeys/AAAA', {}],
    ['DELETE', '/passkeys/AAAA', undefined]
  ]
  for (const [method, path, payload] of refused) {
    assertRefused(t, await mfaRequest(app, token, method, path, payload), 400, undefined, VALIDATION, `${method} ${path} ${JSON.stringify(payload)?.slice(0, 50)}`)
  }
  t.same((await store.passkeys.listByUser(alice.id)), [])
})

t.test('malformed passkey registrations the core decodes are 400 INVALID_MFA_REQUEST, never 500', async (t) => {
  const { app, token } = await withTotp(t)
  const options = (await mfaRequest(app, token, 'POST', '/passkeys/options', { current_password: PASSWORD })).json()
  const registration = new SoftAuthenticator({ origin: ORIGIN }).register(options)
  const broken = [
    { ...registration, rawId: 'AAAA' },
    { ...registration, response: { ...registration.response, clientDataJSON: Buffer.from('not json').toString('base64url') } },
    { ...registration, response: { ...registration.response, clientDataJSON: Buffer.from('{"challenge":[]}').toString('base64url') } },
    { ...registration, response: { ...registration.response, attestationObject: 'AAAA' } },
    { ...registration, response: { ...registration.response, attestationObject: Buffer.from([0xa0]).toString('base64url') } }
  ]
  for (const response of broken) {
    assertRefused(t, await mfaRequest(app, token, 'POST', '/passkeys', { name: 'k', response }), 400, undefined, BAD_REQUEST, JSON.stringify(response).slice(0, 80))
  }
})

t.test('bodies that are not JSON are a 415, bad JSON a 400, a body past bodyLimit a 413', async (t) => {
  const { app, token } = await withTotp(t)
  for (const [type, payload] of [['text/plain', `{"current_password":"${PASSWORD}"}`], ['application/x-www-form-urlencoded', 'current_password=x']]) {
    const res = await app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: { ...bearer(token), 'content-type': type }, payload })
    assertRefused(t, res, 415, undefined, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', type)
  }
  const bad = await app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{"current_password":' })
  assertRefused(t, bad, 400, undefined, 'FST_ERR_CTP_INVALID_JSON_BODY')
  const huge = await app.inject({ method: 'POST', url: '/auth/mfa/passkeys', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'k', response: 'x'.repeat(1_100_000) }) })
  assertRefused(t, huge, 413, undefined, 'FST_ERR_CTP_BODY_TOO_LARGE')
})

t.test('a wrong TOTP code while confirming counts like a login: the account locks (429 with Retry-After)', async (t) => {
  const { app } = await mfaApp(t, { auth: { throttle: { maxAccountFailures: 2 } } })
  const token = await passwordSession(app)
  await mfaRequest(app, token, 'POST', '/totp', { current_password: PASSWORD })
  for (let i = 0; i < 2; i++) assertRefused(t, await mfaRequest(app, token, 'POST', '/totp/confirm', { code: 'nope' }), 401, BARE_CHALLENGE, INVALID_CODE)
  const locked = await mfaRequest(app, token, 'POST', '/totp/confirm', { code: 'nope' })
  assertRefused(t, locked, 429, undefined, 'FST_TOKEN_AUTH_LOGIN_THROTTLED')
  t.match(locked.headers['retry-after'], /^\d+$/)
})

t.test('with mfa on and passkeys off the passkey routes do not exist', async (t) => {
  const { app } = await mfaApp(t, { mfa: { encryptionKey: MFA_KEY } })
  const token = await passwordSession(app)
  for (const [method, path, payload] of ROUTES.slice(5)) {
    t.equal((await mfaRequest(app, token, method, path, payload)).statusCode, 404, `${method} ${path}`)
  }
  t.equal((await mfaRequest(app, token, 'GET', '/')).statusCode, 200)
})

t.test('registering mfaRoutes without the mfa option, or with an option it does not know, fails', async (t) => {
  for (const [auth, options, message] of [
    [{ secret: SECRET, store: createMemoryStore() }, {}, /mfaRoutes needs the `mfa` option/],
    [{ secret: SECRET }, {}, /mfaRoutes needs the `mfa` option/],
    [{ secret: SECRET, store: createMemoryStore(), mfa: { encryptionKey: MFA_KEY } }, { passkeys: true }, /passkeys is not a mfaRoutes option/]
  ] as const) {
    const app = Fastify()
    t.teardown(async () => { await app.close() })
    await app.register(tokenAuth, auth)
    app.register(mfaRoutes, { prefix: '/auth/mfa', ...options } as object)
    await t.rejects(async () => { await app.ready() }, { message })
  }
})

t.test('app.tokenAuth.mfa: the same management from the application\'s code; a TypeError without the mfa option', async (t) => {
  const { app, alice, clock } = await mfaApp(t)
  const mfa = app.tokenAuth.mfa
  t.equal(app.tokenAuth.mfa, mfa, 'one object')
  t.ok(Object.isFrozen(mfa))
  const claims = await app.tokenAuth.verify(await passwordSession(app))
  const context = { userId: alice.id, sessionId: claims.sid, authMethods: claims.amr, address: ADDRESS }
  const { secret } = await mfa.beginTotp(context, PASSWORD)
  t.same(await mfa.confirmTotp(context, totpNow(secret, clock)).then((result) => result.recoveryCodes?.length), 10)
  t.same((await mfa.status({ userId: alice.id })).totp, 'on')
  await t.rejects(mfa.regenerateRecoveryCodes(context, PASSWORD), { code: MFA_REQUIRED }, 'the password session has no second factor')

  const plain = Fastify()
  t.teardown(async () => { await plain.close() })
  await plain.register(tokenAuth, { secret: SECRET, store: createMemoryStore() })
  t.throws(() => plain.tokenAuth.mfa, TypeError)
})

t.test('a browser\'s device cookie goes with its password confirmations: a locked account does not lock out the browser that signed in; two device cookies name none', async (t) => {
  const { app } = await mfaApp(t, { auth: { throttle: { maxAccountFailures: 2 } } })
  const login = await passwordLogin(app, 'alice', {}, { 'sec-fetch-site': 'same-origin' })
  const { cookie, csrf } = browserCookies(app, login)
  const device = `${app.tokenAuth.cookieNames.device}=${login.cookies.find((entry) => entry.name === app.tokenAuth.cookieNames.device)?.value as string}`
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: 'a guess' }, remoteAddress: '203.0.113.66' })
  const begin = async (cookies: string): Promise<Response> =>
    await app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: { cookie: cookies, 'x-csrf-token': csrf }, payload: { current_password: PASSWORD }, remoteAddress: ADDRESS })
  t.equal((await begin(`${cookie}; ${device}`)).statusCode, 200, 'counted on the device, not the locked account')
  assertRefused(t, await begin(`${cookie}; ${device}; ${device}`), 429, undefined, 'FST_TOKEN_AUTH_LOGIN_THROTTLED', 'two device cookies: the account\'s lockout applies')
  assertRefused(t, await begin(cookie), 429, undefined, 'FST_TOKEN_AUTH_LOGIN_THROTTLED', 'no device cookie')
})

t.test('with the cookie transport off the routes work by Bearer token alone', async (t) => {
  const { app, clock } = await mfaApp(t, { auth: { transport: { cookie: false } } })
  const token = await passwordSession(app)
  const { secret } = await enrollTotp(app, clock, token)
  const first = (await passwordLogin(app, 'alice', {}, { 'sec-fetch-site': 'cross-site' })).json()
  const second = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: first.mfa_token, code: totpNow(secret, clock) }, headers: { 'sec-fetch-site': 'cross-site' }, remoteAddress: ADDRESS })
  t.equal(second.statusCode, 200, 'no cookies to forge a request with: no origin check')
  t.equal(second.headers['set-cookie'], undefined)
  t.type(second.json().refresh_token, 'string', 'both tokens in the body')
  t.equal((await mfaRequest(app, second.json().access_token, 'POST', '/recovery-codes', { current_password: PASSWORD })).statusCode, 200)
})

t.test('turning TOTP on while recovery codes remain (a passkey came first) gives no new set', async (t) => {
  const { app, clock } = await mfaApp(t)
  const { authenticator } = await addPasskey(app, await passwordSession(app))
  const signIn = await app.inject({ method: 'POST', url: '/auth/login/passkey/options', remoteAddress: ADDRESS })
  const strong = (await app.inject({ method: 'POST', url: '/auth/login/passkey', payload: { response: authenticator.assert(signIn.json()) }, remoteAddress: ADDRESS })).json().access_token
  const { secret } = (await mfaRequest(app, strong, 'POST', '/totp', { current_password: PASSWORD })).json()
  const confirmed = await mfaRequest(app, strong, 'POST', '/totp/confirm', { code: totpNow(secret, clock) })
  t.equal(confirmed.statusCode, 200)
  t.same(confirmed.json(), {})
  t.same((await mfaRequest(app, strong, 'GET', '/')).json().recovery_codes_left, 10)
})
