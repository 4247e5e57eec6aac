import { Writable } from 'node:stream'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import tokenAuth, { createMemoryStore, type IssuerOptions, type TokenAuthOptions } from 'fastify-token-auth'
import { buildResourceServer } from './helpers/resource-server.js'

// Every mistake in `issuers` fails registration with a message naming the option; the
// relaxations an issuer's profile makes are named once at startup.

const JWKS = 'https://idp.example.com/.well-known/jwks.json'
const base: IssuerOptions = { issuer: 'https://idp.example.com', jwks: { url: JWKS }, audience: 'orders-api' }
const CREDENTIAL = 'c5Xy0Qe7Lm2Vb9Nt4Rk8Hw1Js6Pd3Fa0Gz7Ui4Oo2Ee5'

async function refused (t: Test, issuers: unknown, message: RegExp, auth: Partial<TokenAuthOptions> = {}): Promise<void> {
  await t.rejects(buildResourceServer(t, issuers as IssuerOptions[], { auth }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message }, message.source)
}

t.test('each mistake in issuers is refused at registration, naming the option', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{ issuers: 'x' }, /issuers must be an array/],
    [['x'], /issuers\[0\] must be an object/],
    [[{ ...base, audiance: 'x' }], /issuers\[0\]\.audiance is not an option; did you mean issuers\[0\]\.audience\?/],
    [[{ ...base, issuer: '' }], /issuers\[0\]\.issuer must be the exact `iss`/],
    [[{ ...base, audience: undefined }], /issuers\[0\]\.audience is required: .*or false to accept any audience/],
    [[{ ...base, audience: [] }], /issuers\[0\]\.audience must be a non-empty string, an array of them, or false/],
    [[{ ...base, audience: [''] }], /issuers\[0\]\.audience must be/],
    [[{ ...base, jwks: undefined }], /issuers\[0\]\.jwks must be an object/],
    [[{ ...base, jwks: { url: 'http://idp.example.com/jwks' } }], /issuers\[0\]\.jwks\.url must be an https:\/\/ URL/],
    [[{ ...base, jwks: { url: 'http://localhost:8080/jwks' } }], /issuers\[0\]\.jwks\.url is plain http: set allowInsecureLocalhost: true/],
    [[{ ...base, jwks: { url: 'ftp://idp.example.com/jwks' } }], /must be an https:\/\/ URL/],
    [[{ ...base, jwks: { url: 'https://user:pass@idp.example.com/jwks' } }], /must not carry a user name or password/],
    [[{ ...base, jwks: { url: `${JWKS}#keys` } }], /must not have a #fragment/],
    [[{ ...base, jwks: { url: 'not a url' } }], /issuers\[0\]\.jwks\.url is not a valid URL/],
    [[{ ...base, jwks: { url: 42 } }], /issuers\[0\]\.jwks\.url must be a URL string/],
    [[{ ...base, jwks: { url: JWKS, maxAge: '1h', minAge: '2h' } }], /jwks\.maxAge must be at least issuers\[0\]\.jwks\.minAge/],
    [[{ ...base, jwks: { url: JWKS, timeout: 'soon' } }], /issuers\[0\]\.jwks\.timeout/],
    [[{ ...base, jwks: { url: JWKS, maxBytes: 10 } }], /issuers\[0\]\.jwks\.maxBytes must be an integer from 1024/],
    [[{ ...base, jwks: { url: JWKS, maxKeys: 0 } }], /issuers\[0\]\.jwks\.maxKeys must be an integer from 1/],
    [[{ ...base, jwks: { url: JWKS, refresh: '1m' } }], /issuers\[0\]\.jwks\.refresh is not an option/],
    [[{ ...base, algorithms: [] }], /issuers\[0\]\.algorithms must be a non-empty array/],
    [[{ ...base, algorithms: ['HS256'] }], /issuers\[0\]\.algorithms may hold .*never HMAC secrets\); got "HS256"/],
    [[{ ...base, allowInsecureLocalhost: 'yes' }], /issuers\[0\]\.allowInsecureLocalhost must be true or false/],
    [[{ ...base, revocations: { url: 'https://idp.example.com/auth/revocations', credential: 'short' } }], /issuers\[0\]\.revocations\.credential must be the feed's service credential/],
    [[{ ...base, revocations: { url: 'https://idp.example.com/auth/revocations', credential: `${CREDENTIAL} x` } }], /revocations\.credential must be/],
    [[{ ...base, revocations: { url: 'https://idp.example.com/auth/revocations', credential: CREDENTIAL, syncInterval: '2s' } }], /revocations\.syncInterval must be shorter than issuers\[0\]\.revocations\.maxStaleness/],
    [[{ ...base, revocations: { url: 'https://idp.example.com/auth/revocations', credential: CREDENTIAL, intervall: '1s' } }], /revocations\.intervall is not an option/],
    [[{ ...base, revocations: 'https://idp.example.com/auth/revocations' }], /issuers\[0\]\.revocations must be an object/],
    [[{ ...base, profile: { tokenTypes: [] } }], /issuers\[0\]\.profile\.tokenTypes/],
    [[base, { ...base }], /issuers lists "https:\/\/idp\.example\.com" twice/]
  ]
  for (const [issuers, message] of cases) {
    if (typeof issuers === 'object' && issuers !== null && !Array.isArray(issuers)) await refused(t, (issuers as { issuers: unknown }).issuers, message)
    else await refused(t, issuers, message)
  }
})

t.test('an issuer may not be the service\'s own, and a store needs keys of its own', async (t) => {
  await refused(t, [base], /which is this service's own issuer/, { secret: CREDENTIAL, issuer: base.issuer })
  await refused(t, [base], /a store holds sessions, .*set `secret` or `keys` too/, { store: createMemoryStore() })
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close() })
  await t.rejects(async () => { await app.register(tokenAuth, { issuers: [] }).ready() }, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /a signing secret is required: .*sets `issuers`/ })
  const cookies = Fastify({ logger: false })
  t.teardown(async () => { await cookies.close() })
  await t.rejects(async () => { await cookies.register(tokenAuth, { issuers: [base] }).ready() }, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /tokens come only from `issuers`.*transport\.cookie: false/ })
})

t.test('a service without keys of its own publishes an empty JWKS and cannot sign', async (t) => {
  const app = await buildResourceServer(t, [base])
  t.same(app.tokenAuth.jwks(), { keys: [] })
  await t.rejects(app.tokenAuth.sign({ sub: 'x' }), { name: 'TypeError', message: /no signing key of its own/ })
})

t.test('the startup log names every relaxation of an issuer\'s profile, once, and none for a strict one', async (t) => {
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, {
    issuers: [
      { ...base, audience: false, profile: { tokenTypes: ['JWT'], allowMissingTokenType: true, requiredClaims: ['sub'] } },
      { ...base, issuer: 'https://strict.example.com' }
    ],
    transport: { cookie: false }
  })
  await app.ready()
  const named = lines.filter((line) => line.msg.startsWith('tokens of '))
  t.equal(named.length, 1)
  t.match(named[0].msg, /^tokens of https:\/\/idp\.example\.com are accepted with: any audience accepted; .*JWT.*; .*without typ.*; jti not required; iat not required$/)
})

t.test('a revocation feed with its own poll timeout is accepted', async (t) => {
  // Nothing listens on port 1: the first poll fails at once, and the service starts anyway.
  const app = await buildResourceServer(t, [{ ...base, revocations: { url: 'https://127.0.0.1:1/auth/revocations', credential: CREDENTIAL, timeout: '2s' } }])
  t.ok(app.hasDecorator('tokenAuth'))
})
