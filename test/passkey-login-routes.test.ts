import t, { type Test } from 'tap'
import { MFA_KEY, ORIGIN, ADDRESS, addPasskey, assertRefused, BARE_CHALLENGE, enrollTotp, INVALID_TOKEN, mfaApp, mfaSession, passwordLogin, passwordSession, totpNow, VALIDATION, type MfaApp, type Response } from './helpers/mfa-app.js'
import { SoftAuthenticator, type Tweaks } from './helpers/soft-authenticator.js'

// Passkeys at login over HTTP: as the second step after a password (login/mfa/passkey-options,
// then login/mfa with `passkey`), and alone (login/passkey/options, then login/passkey).

const INVALID_PASSKEY = 'FST_TOKEN_AUTH_INVALID_PASSKEY'
const BAD_REQUEST = 'FST_TOKEN_AUTH_INVALID_MFA_REQUEST'

type Assertion = ReturnType<SoftAuthenticator['assert']>

/** alice with TOTP and a software passkey, registered from a session signed in with TOTP. */
async function withPasskey (t: Test, options: Parameters<typeof mfaApp>[1] = {}): Promise<MfaApp & { authenticator: SoftAuthenticator }> {
  const built = await mfaApp(t, options)
  const { secret } = await enrollTotp(built.app, built.clock, await passwordSession(built.app))
  const { authenticator, res } = await addPasskey(built.app, await mfaSession(built.app, built.clock, secret))
  t.equal(res.statusCode, 201, 'passkey registered')
  built.events.length = 0
  return { ...built, authenticator }
}

async function post (app: MfaApp['app'], url: string, payload?: unknown, headers: Record<string, string> = {}, remoteAddress = ADDRESS): Promise<Response> {
  return await app.inject({ method: 'POST', url: `/auth${url}`, headers, remoteAddress, ...(payload === undefined ? {} : { payload: payload as object }) })
}

async function signInOptions (app: MfaApp['app'], remoteAddress = ADDRESS): Promise<{ challenge: string, rpId: string }> {
  const res = await post(app, '/login/passkey/options', {}, {}, remoteAddress)
  if (res.statusCode !== 200) throw new Error(`options: ${res.statusCode} ${res.payload}`)
  return res.json()
}

t.test('second step with a passkey: options list the user\'s passkeys, the assertion signs in with amr pwd hwk mfa', async (t) => {
  const { app, authenticator, alice } = await withPasskey(t)
  const first = await passwordLogin(app)
  t.same(first.json().methods, ['totp', 'recovery_code', 'passkey'])
  const options = await post(app, '/login/mfa/passkey-options', { mfa_token: first.json().mfa_token })
  t.equal(options.statusCode, 200)
  t.equal(options.headers['cache-control'], 'no-store')
  t.match(options.json(), { rpId: 'localhost', userVerification: 'discouraged', allowCredentials: [{ id: authenticator.id, type: 'public-key' }] })
  const res = await post(app, '/login/mfa', { mfa_token: first.json().mfa_token, passkey: authenticator.assert(options.json(), { userVerified: false }) })
  t.equal(res.statusCode, 200)
  const claims = await app.tokenAuth.verify(res.json().access_token)
  t.equal(claims.sub, alice.id)
  t.same(claims.amr, ['pwd', 'hwk', 'mfa'])
})

t.test('second step with a passkey that does not verify: 401 INVALID_MFA_CODE, bare challenge; the login challenge stays', async (t) => {
  const { app, authenticator } = await withPasskey(t, { auth: { throttle: { maxAccountFailures: 100 } } })
  const token = (await passwordLogin(app)).json().mfa_token
  const tweaks: Tweaks[] = [{ badSignature: true }, { origin: 'https://evil.example' }, { rpId: 'evil.example' }, { userPresent: false }]
  for (const tweak of tweaks) {
    const options = (await post(app, '/login/mfa/passkey-options', { mfa_token: token })).json()
    const res = await post(app, '/login/mfa', { mfa_token: token, passkey: authenticator.assert(options, tweak) })
    assertRefused(t, res, 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_INVALID_MFA_CODE', JSON.stringify(tweak))
  }
  const options = (await post(app, '/login/mfa/passkey-options', { mfa_token: token })).json()
  t.equal((await post(app, '/login/mfa', { mfa_token: token, passkey: authenticator.assert(options) })).statusCode, 200, 'then the right one')
})

t.test('another user\'s passkey, or a sign-in challenge, cannot pass alice\'s second step', async (t) => {
  const { app, clock, authenticator } = await withPasskey(t)
  const bobs = await addPasskey(app, await passwordSession(app, 'bob'))
  t.equal(bobs.res.statusCode, 201)
  const token = (await passwordLogin(app)).json().mfa_token
  const options = (await post(app, '/login/mfa/passkey-options', { mfa_token: token })).json()
  assertRefused(t, await post(app, '/login/mfa', { mfa_token: token, passkey: bobs.authenticator.assert(options) }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_INVALID_MFA_CODE', 'bob\'s passkey')
  clock.advance(1000)
  const signIn = await signInOptions(app)
  assertRefused(t, await post(app, '/login/mfa', { mfa_token: token, passkey: authenticator.assert(signIn) }), 401, BARE_CHALLENGE, 'FST_TOKEN_AUTH_INVALID_MFA_CODE', 'a sign-in challenge')
  // A second-step challenge cannot sign in alone either.
  const stepOptions = (await post(app, '/login/mfa/passkey-options', { mfa_token: token })).json()
  assertRefused(t, await post(app, '/login/passkey', { response: authenticator.assert(stepOptions) }), 401, BARE_CHALLENGE, INVALID_PASSKEY, 'a second-step challenge')
})

t.test('passkey-options for an unknown, malformed or elsewhere-asked mfa_token: 401 INVALID_MFA_CHALLENGE with invalid_token', async (t) => {
  const { app } = await withPasskey(t)
  for (const token of ['A'.repeat(43), 'nope']) {
    assertRefused(t, await post(app, '/login/mfa/passkey-options', { mfa_token: token }), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE', token)
  }
  const token = (await passwordLogin(app)).json().mfa_token
  assertRefused(t, await post(app, '/login/mfa/passkey-options', { mfa_token: token }, {}, '203.0.113.50'), 401, INVALID_TOKEN, 'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE', 'another address')
  for (const payload of [{}, { mfa_token: 7 }, { mfa_token: token, extra: 1 }, { mfa_token: 'x'.repeat(129) }]) {
    assertRefused(t, await post(app, '/login/mfa/passkey-options', payload), 400, undefined, VALIDATION, JSON.stringify(payload).slice(0, 40))
  }
})

t.test('a passkey alone signs in (user verification required): amr hwk user mfa, events say so', async (t) => {
  const { app, authenticator, alice, events } = await withPasskey(t)
  const options = await signInOptions(app)
  t.match(options, { rpId: 'localhost', userVerification: 'required' })
  t.notOk('allowCredentials' in options && (options as { allowCredentials?: unknown[] }).allowCredentials?.length, 'discoverable: no list of credentials')
  const res = await post(app, '/login/passkey', { response: authenticator.assert(options), include_refresh_token: true })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.type(res.json().refresh_token, 'string')
  const claims = await app.tokenAuth.verify(res.json().access_token)
  t.equal(claims.sub, alice.id)
  t.same(claims.amr, ['hwk', 'user', 'mfa'])
  t.match(events.filter((event) => event.type === 'login.succeeded'), [{ userId: alice.id, authMethods: ['hwk', 'user', 'mfa'] }])
  t.equal((await app.inject({ url: '/mfa-only', headers: { authorization: `Bearer ${res.json().access_token as string}` } })).statusCode, 200)
})

t.test('a browser signing in with a passkey gets cookies only, the device cookie too', async (t) => {
  const { app, authenticator } = await withPasskey(t)
  const options = await signInOptions(app)
  const res = await post(app, '/login/passkey', { response: authenticator.assert(options) }, { 'sec-fetch-site': 'same-origin' })
  t.equal(res.statusCode, 200)
  t.notOk('access_token' in res.json())
  t.ok(res.cookies.some((cookie) => cookie.name === app.tokenAuth.cookieNames.device))
})

t.test('passkey sign-ins that fail are all 401 INVALID_PASSKEY with the bare challenge', async (t) => {
  // Every failure with alice's passkey is a guess on her account: room for them all here.
  const { app, authenticator, alice } = await withPasskey(t, { auth: { throttle: { maxAccountFailures: 100 } } })
  const stranger = new SoftAuthenticator({ origin: ORIGIN })
  const cases: Array<[string, (options: { challenge: string, rpId: string }) => Assertion | Promise<Assertion>]> = [
    ['an unknown credential', (options) => { stranger.userHandle = authenticator.userHandle; return stranger.assert(options) }],
    ['a bad signature', (options) => authenticator.assert(options, { badSignature: true })],
    ['no user verification', (options) => authenticator.assert(options, { userVerified: false })],
    ['another origin', (options) => authenticator.assert(options, { origin: 'https://evil.example' })],
    ['another relying party', (options) => authenticator.assert(options, { rpId: 'evil.example' })],
    ['a challenge we never gave', (options) => authenticator.assert(options, { challenge: 'A'.repeat(43) })],
    ['a create ceremony\'s type', (options) => authenticator.assert(options, { type: 'webauthn.create' })],
    ['no user handle', (options) => authenticator.assert(options, { userHandle: null })],
    ['another user\'s handle', (options) => authenticator.assert(options, { userHandle: Buffer.from('someone-else').toString('base64url') })],
    ['a counter that did not grow', (options) => authenticator.assert(options, { counter: 1 })],
    ['a changed backup eligibility', (options) => authenticator.assert(options, { backupEligible: true })]
  ]
  for (const [name, assertion] of cases) {
    const res = await post(app, '/login/passkey', { response: await assertion(await signInOptions(app)) })
    assertRefused(t, res, 401, BARE_CHALLENGE, INVALID_PASSKEY, name)
  }
  const options = await signInOptions(app)
  const good = authenticator.assert(options)
  t.equal((await post(app, '/login/passkey', { response: good })).statusCode, 200, 'then a good one')
  assertRefused(t, await post(app, '/login/passkey', { response: good }), 401, BARE_CHALLENGE, INVALID_PASSKEY, 'replayed')
  const fromElsewhere = authenticator.assert(await signInOptions(app, '203.0.113.60'))
  assertRefused(t, await post(app, '/login/passkey', { response: fromElsewhere }), 401, BARE_CHALLENGE, INVALID_PASSKEY, 'options given to another address')
  await app.tokenAuth.accounts.setDisabled(alice.id, true)
  assertRefused(t, await post(app, '/login/passkey', { response: authenticator.assert(await signInOptions(app)) }), 401, BARE_CHALLENGE, INVALID_PASSKEY, 'a disabled user')
})

t.test('malformed passkey responses are 400, never 500: schema first, then what the core decodes', async (t) => {
  const { app, authenticator } = await withPasskey(t, { auth: { throttle: { maxAccountFailures: 100 } } })
  const good = authenticator.assert(await signInOptions(app))
  const response = good.response
  const schemaRefused: unknown[] = [
    'a string',
    null,
    [],
    {},
    { ...good, id: 42 },
    { ...good, id: 'not base64url!' },
    { ...good, id: 'A'.repeat(1365), rawId: 'A'.repeat(1365) },
    { ...good, type: 'password' },
    { ...good, extra: true },
    { ...good, response: { ...response, extra: 'x' } },
    { ...good, response: { ...response, signature: '' } },
    { ...good, response: { ...response, signature: 'A'.repeat(2049) } },
    { ...good, response: { ...response, clientDataJSON: 'A'.repeat(8193) } },
    { ...good, response: { ...response, authenticatorData: 'A'.repeat(8193) } },
    { ...good, response: { ...response, userHandle: 'A'.repeat(129) } },
    { ...good, response: { ...response, userHandle: 7 } },
    { ...good, response: { clientDataJSON: response.clientDataJSON, signature: response.signature } },
    { ...good, authenticatorAttachment: 'usb' },
    { ...good, clientExtensionResults: { made: 'up' } },
    { ...good, clientExtensionResults: { credProps: { rk: 'yes' } } },
    { ...good, clientExtensionResults: { prf: { results: { first: 'x'.repeat(1025) } } } }
  ]
  for (const value of schemaRefused) {
    const res = await post(app, '/login/passkey', { response: value })
    assertRefused(t, res, 400, undefined, VALIDATION, JSON.stringify(value).slice(0, 80))
  }
  const coreRefused: unknown[] = [
    { ...good, rawId: 'AAAA' },
    { ...good, response: { ...response, clientDataJSON: Buffer.from('not json').toString('base64url') } },
    { ...good, response: { ...response, clientDataJSON: Buffer.from('[1,2]').toString('base64url') } },
    { ...good, response: { ...response, clientDataJSON: Buffer.from('{"challenge":7}').toString('base64url') } },
    { ...good, response: { ...response, clientDataJSON: Buffer.from('{}').toString('base64url') } }
  ]
  for (const value of coreRefused) {
    assertRefused(t, await post(app, '/login/passkey', { response: value }), 400, undefined, BAD_REQUEST, JSON.stringify(value).slice(0, 80))
  }
  const odd: unknown[] = [
    // Garbage that decodes: a CBOR-less authenticatorData, a signature of the wrong length.
    { ...good, response: { ...response, authenticatorData: 'AAAA' } },
    { ...good, response: { ...response, signature: 'AAAA' } }
  ]
  for (const value of odd) {
    assertRefused(t, await post(app, '/login/passkey', { response: value }), 401, BARE_CHALLENGE, INVALID_PASSKEY, JSON.stringify(value).slice(0, 80))
  }
  for (const payload of [{}, { response: good, admin: true }, { response: good, include_refresh_token: 1 }]) {
    assertRefused(t, await post(app, '/login/passkey', payload), 400, undefined, VALIDATION, JSON.stringify(payload).slice(0, 40))
  }
  assertRefused(t, await post(app, '/login/passkey', '{"response":', { 'content-type': 'application/json' }), 400, undefined, 'FST_ERR_CTP_INVALID_JSON_BODY')
  assertRefused(t, await post(app, '/login/passkey', JSON.stringify({ response: good }), { 'content-type': 'text/plain' }), 415, undefined, 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
  const huge = await post(app, '/login/passkey', JSON.stringify({ response: { ...good, response: { ...response, signature: 'A'.repeat(1_100_000) } } }), { 'content-type': 'application/json' })
  assertRefused(t, huge, 413, undefined, 'FST_ERR_CTP_BODY_TOO_LARGE')
})

t.test('the options routes take an empty object or nothing; anything else is 400', async (t) => {
  const { app } = await withPasskey(t)
  t.equal((await post(app, '/login/passkey/options')).statusCode, 200, 'no body')
  t.equal((await post(app, '/login/passkey/options', {})).statusCode, 200, '{}')
  for (const payload of [{ username: 'alice' }, [], 'x']) {
    const res = await post(app, '/login/passkey/options', payload, typeof payload === 'string' ? { 'content-type': 'application/json' } : {})
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.headers['www-authenticate'], undefined)
  }
})

t.test('options are limited per address: the 31st in a minute is 429 with Retry-After', async (t) => {
  const { app, clock } = await withPasskey(t)
  for (let i = 0; i < 30; i++) await signInOptions(app)
  const res = await post(app, '/login/passkey/options', {})
  assertRefused(t, res, 429, undefined, 'FST_TOKEN_AUTH_RATE_LIMITED')
  t.match(res.headers['retry-after'], /^\d+$/)
  const token = (await passwordLogin(app)).json().mfa_token
  assertRefused(t, await post(app, '/login/mfa/passkey-options', { mfa_token: token }), 429, undefined, 'FST_TOKEN_AUTH_RATE_LIMITED', 'the second step\'s options count too')
  t.equal((await post(app, '/login/passkey/options', {}, {}, '203.0.113.61')).statusCode, 200, 'another address')
  clock.advance(60_000)
  t.equal((await post(app, '/login/passkey/options', {})).statusCode, 200, 'the next minute')
})

t.test('failed passkey sign-ins are throttled on the address: 429 with Retry-After once past its failures', async (t) => {
  const { app, authenticator } = await withPasskey(t, { auth: { throttle: { maxAddressFailures: 3 } } })
  for (let i = 0; i < 3; i++) {
    assertRefused(t, await post(app, '/login/passkey', { response: authenticator.assert(await signInOptions(app), { badSignature: true }) }), 401, BARE_CHALLENGE, INVALID_PASSKEY)
  }
  const locked = await post(app, '/login/passkey', { response: authenticator.assert(await signInOptions(app)) })
  assertRefused(t, locked, 429, undefined, 'FST_TOKEN_AUTH_LOGIN_THROTTLED', 'even a good assertion')
  t.match(locked.headers['retry-after'], /^\d+$/)
})

t.test('login CSRF: every passkey route refuses a post from another site or a sibling subdomain with 403', async (t) => {
  const { app, authenticator } = await withPasskey(t)
  const token = (await passwordLogin(app)).json().mfa_token
  const options = await signInOptions(app)
  const routes: Array<[string, unknown]> = [
    ['/login/mfa/passkey-options', { mfa_token: token }],
    ['/login/passkey/options', {}],
    ['/login/passkey', { response: authenticator.assert(options) }]
  ]
  for (const [url, payload] of routes) {
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site', origin: 'https://sub.localhost' }]) {
      assertRefused(t, await post(app, url, payload, headers), 403, undefined, 'FST_TOKEN_AUTH_CSRF', `${url} ${JSON.stringify(headers)}`)
    }
  }
  t.equal((await post(app, '/login/passkey', { response: authenticator.assert(options) })).statusCode, 200, 'the refused posts spent nothing')
})

t.test('with mfa but without mfa.passkeys the passkey routes do not exist, and a passkey at the second step is 400', async (t) => {
  const { app, clock } = await mfaApp(t, { mfa: { encryptionKey: MFA_KEY } })
  const { secret } = await enrollTotp(app, clock, await passwordSession(app))
  const first = await passwordLogin(app)
  t.same(first.json().methods, ['totp', 'recovery_code'])
  for (const url of ['/login/mfa/passkey-options', '/login/passkey/options', '/login/passkey']) {
    t.equal((await post(app, url, {})).statusCode, 404, url)
  }
  const passkey = new SoftAuthenticator({ origin: ORIGIN }).assert({ challenge: 'A'.repeat(43), rpId: 'localhost' })
  // Refused before anything is counted: the same challenge then takes a code.
  assertRefused(t, await post(app, '/login/mfa', { mfa_token: first.json().mfa_token, passkey }), 400, undefined, BAD_REQUEST)
  t.equal((await post(app, '/login/mfa', { mfa_token: first.json().mfa_token, code: totpNow(secret, clock) })).statusCode, 200)
})
