import { constants, generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import t from 'tap'
import { buildApp, SECRET } from './helpers/app.js'
import { ACCESS_HEADER, bearer, claims, forge, isHighS, segment, signInput, withOtherS } from './helpers/forge.js'

// Every way a token can be wrong, sent as a Bearer token to a protected route: each
// must be a 401 with an invalid_token challenge and a stable code, never a 500.

const now = (): number => Math.floor(Date.now() / 1000)
const INVALID = 'FST_TOKEN_AUTH_INVALID_TOKEN'
const EXPIRED = 'FST_TOKEN_AUTH_TOKEN_EXPIRED'

function withLastChar (text: string, char: string): string {
  return text.slice(0, -1) + char
}

const good = (): string => forge(ACCESS_HEADER, claims())

// `via: 'cookie'` for spellings the Authorization header grammar already refuses with a 400.
interface Case { name: string, because?: string, token: () => string, code?: string, auth?: Record<string, unknown>, via?: 'cookie' }

const cases: Case[] = [
  { name: 'alg none (empty signature) is rejected', because: 'not a compact JWS', token: () => `${segment({ alg: 'none', typ: 'at+jwt' })}.${segment(claims())}.` },
  { name: 'alg none with a signature is rejected', because: 'unsigned tokens are never accepted', token: () => `${segment({ alg: 'none', typ: 'at+jwt' })}.${segment(claims())}.AAAA` },
  { name: 'alg None is rejected', because: 'unsigned tokens are never accepted', token: () => `${segment({ alg: 'None', typ: 'at+jwt' })}.${segment(claims())}.AAAA` },
  { name: 'alg NONE is rejected', because: 'unsigned tokens are never accepted', token: () => `${segment({ alg: 'NONE', typ: 'at+jwt' })}.${segment(claims())}.AAAA` },
  { name: 'an HS512 header on the HS256 key is rejected even when HS512-signed with the same secret', because: 'algorithm does not match the key', token: () => forge({ alg: 'HS512', typ: 'at+jwt' }, claims(), { hash: 'sha512' }) },
  { name: 'a header without alg is rejected', because: 'header has no alg', token: () => forge({ typ: 'at+jwt' }, claims()) },
  { name: 'an empty signature is rejected', because: 'not a compact JWS', token: () => good().replace(/\.[^.]+$/, '.') },
  { name: 'a truncated signature is rejected', because: 'bad signature', token: () => good().slice(0, -3) },
  { name: 'a signature with non-zero unused trailing bits is rejected', because: 'bad signature', token: () => { const token = good(); return withLastChar(token, token.endsWith('A') ? 'B' : 'A') } },
  { name: 'a tampered payload is rejected', because: 'bad signature', token: () => { const [h, , s] = good().split('.'); return `${h}.${segment(claims({ sub: 'admin' }))}.${s}` } },
  { name: 'a token signed with another secret is rejected', because: 'bad signature', token: () => forge(ACCESS_HEADER, claims(), { secret: 'another-secret-another-secret-another-secret!!' }) },
  { name: 'two segments are rejected', because: 'not a compact JWS', token: () => good().split('.').slice(0, 2).join('.') },
  { name: 'four segments are rejected', because: 'not a compact JWS', token: () => `${good()}.${segment('x')}` },
  { name: 'five segments are rejected', because: 'not a compact JWS', token: () => `${good()}.${segment('x')}.${segment('y')}` },
  { name: 'a token without dots is rejected', because: 'not a compact JWS', token: () => good().replaceAll('.', '') },
  { name: 'an empty header segment is rejected', because: 'not a compact JWS', token: () => good().replace(/^[^.]+/, '') },
  { name: 'an empty payload segment is rejected', because: 'not a compact JWS', token: () => good().replace(/\.[^.]+\./, '..') },
  { name: 'a header outside the base64url alphabet is rejected', because: 'header is not canonical base64url', token: () => signInput(`+${segment(ACCESS_HEADER)}.${segment(claims())}`) },
  { name: 'a header that is not UTF-8 is rejected', because: 'header is not UTF-8', token: () => forge(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), claims()) },
  { name: '= padding is rejected', because: 'bad signature', token: () => `${good()}=` },
  { name: '+ (standard base64) is rejected', because: 'bad signature', token: () => good().replace(/\.([^.]+)$/, (_m, sig: string) => `.+${sig.slice(1)}`) },
  { name: '/ (standard base64) is rejected', because: 'bad signature', token: () => good().replace(/\.([^.]+)$/, (_m, sig: string) => `./${sig.slice(1)}`) },
  { name: 'a signed payload in the standard base64 alphabet is rejected', because: 'payload is not canonical base64url', token: () => signInput(`${segment(ACCESS_HEADER)}.${Buffer.from(JSON.stringify(claims({ sub: '>>>???' }))).toString('base64').replace(/=+$/, '')}`) },
  { name: 'a signed payload with = padding is rejected', because: 'payload is not canonical base64url', token: () => signInput(`${segment(ACCESS_HEADER)}.${Buffer.from(JSON.stringify(claims({ sub: 'ab' }))).toString('base64url')}==`), via: 'cookie' },
  { name: 'a signed payload with a space inside is rejected', because: 'payload is not canonical base64url', token: () => { const p = segment(claims()); return signInput(`${segment(ACCESS_HEADER)}.${p.slice(0, 10)} ${p.slice(10)}`) }, via: 'cookie' },
  { name: 'a payload that is a JSON array is rejected', because: 'payload is not a JSON object', token: () => forge(ACCESS_HEADER, [claims()]) },
  { name: 'a payload that is a JSON string is rejected', because: 'payload is not a JSON object', token: () => forge(ACCESS_HEADER, JSON.stringify('sub')) },
  { name: 'a payload that is not JSON is rejected', because: 'payload is not JSON', token: () => forge(ACCESS_HEADER, 'not json') },
  { name: 'a payload that is not UTF-8 is rejected', because: 'payload is not UTF-8', token: () => forge(ACCESS_HEADER, Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])) },
  { name: 'a payload segment with non-zero trailing bits is rejected although signed', because: 'payload is not canonical base64url', token: () => { const p = segment(claims()); const odd = p.length % 4 === 0 ? segment({ ...claims(), x: 1 }) : p; return signInput(`${segment(ACCESS_HEADER)}.${withLastChar(odd, odd.endsWith('B') ? 'C' : 'B')}`) } },
  { name: 'a header that is not JSON is rejected', because: 'header is not JSON', token: () => forge('{not json', claims()) },
  { name: 'a header that is a JSON array is rejected', because: 'header is not a JSON object', token: () => forge([ACCESS_HEADER], claims()) },
  { name: 'an unknown crit header is rejected', because: 'header has critical extensions this service does not support', token: () => forge({ ...ACCESS_HEADER, crit: ['exp'] }, claims()) },
  { name: 'a jku header is rejected', because: 'header parameter jku is not accepted', token: () => forge({ ...ACCESS_HEADER, jku: 'https://evil.example/jwks.json' }, claims()) },
  { name: 'a jwk header is rejected', because: 'header parameter jwk is not accepted', token: () => forge({ ...ACCESS_HEADER, jwk: { kty: 'oct', k: 'AAAA' } }, claims()) },
  { name: 'an x5u header is rejected', because: 'header parameter x5u is not accepted', token: () => forge({ ...ACCESS_HEADER, x5u: 'https://evil.example/cert' }, claims()) },
  { name: 'an unknown kid is rejected', because: 'unknown signing key', token: () => forge({ ...ACCESS_HEADER, kid: 'no-such-key' }, claims()) },
  { name: 'a kid that is not a string is rejected', because: 'kid is not a string', token: () => forge({ ...ACCESS_HEADER, kid: 42 }, claims()) },
  { name: 'a token without typ is rejected (only access tokens are accepted)', because: 'wrong token type', token: () => forge({ alg: 'HS256' }, claims()) },
  { name: 'a token with typ JWT is rejected', because: 'wrong token type', token: () => forge({ alg: 'HS256', typ: 'JWT' }, claims()) },
  { name: 'a missing exp is rejected', because: 'exp claim missing or not a number', token: () => forge(ACCESS_HEADER, claims({ exp: undefined })) },
  { name: 'a string exp is rejected', because: 'exp claim missing or not a number', token: () => forge(ACCESS_HEADER, claims({ exp: String(now() + 600) })) },
  { name: 'a past exp is rejected as expired', token: () => forge(ACCESS_HEADER, claims({ exp: now() - 60 })), code: EXPIRED },
  { name: 'an nbf in the future is rejected', because: 'token is not valid yet', token: () => forge(ACCESS_HEADER, claims({ nbf: now() + 600 })) },
  { name: 'an nbf that is not a number is rejected', because: 'nbf claim is not a number', token: () => forge(ACCESS_HEADER, claims({ nbf: 'soon' })) },
  { name: 'an iat in the future is rejected', because: 'token was issued in the future', token: () => forge(ACCESS_HEADER, claims({ iat: now() + 600 })) },
  { name: 'an iat that is not a number is rejected', because: 'iat claim is not a number', token: () => forge(ACCESS_HEADER, claims({ iat: true })) },
  { name: 'a missing iat is rejected', because: 'iat claim missing', token: () => forge(ACCESS_HEADER, claims({ iat: undefined })) },
  { name: 'a missing sub is rejected', because: 'sub claim missing', token: () => forge(ACCESS_HEADER, claims({ sub: undefined })) },
  { name: 'a numeric sub is rejected', because: 'sub claim is not a non-empty string', token: () => forge(ACCESS_HEADER, claims({ sub: 42 })) },
  { name: 'a missing jti is rejected', because: 'jti claim missing', token: () => forge(ACCESS_HEADER, claims({ jti: undefined })) },
  { name: 'a wrong iss is rejected', because: 'wrong issuer', token: () => forge(ACCESS_HEADER, claims({ iss: 'someone-else', aud: 'api' })), auth: { issuer: 'issuer', audience: 'api' } },
  { name: 'a missing iss is rejected when an issuer is configured', because: 'wrong issuer', token: () => forge(ACCESS_HEADER, claims({ aud: 'api' })), auth: { issuer: 'issuer', audience: 'api' } },
  { name: 'an iss given as an array is rejected', because: 'iss claim is not a string', token: () => forge(ACCESS_HEADER, claims({ iss: ['issuer'], aud: 'api' })), auth: { issuer: 'issuer', audience: 'api' } },
  { name: 'an iss given as an array is rejected with no issuer configured', because: 'iss claim is not a string', token: () => forge(ACCESS_HEADER, claims({ iss: ['issuer'] })) },
  { name: 'a wrong aud is rejected', because: 'wrong audience', token: () => forge(ACCESS_HEADER, claims({ iss: 'issuer', aud: 'other-api' })), auth: { issuer: 'issuer', audience: 'api' } },
  { name: 'a missing aud is rejected when an audience is configured', because: 'aud claim missing', token: () => forge(ACCESS_HEADER, claims({ iss: 'issuer' })), auth: { issuer: 'issuer', audience: 'api' } },
  { name: 'an aud that is an empty array is rejected', because: 'aud claim is not a string or an array of strings', token: () => forge(ACCESS_HEADER, claims({ aud: [] })) },
  { name: 'an aud with a non-string member is rejected', because: 'aud claim is not a string or an array of strings', token: () => forge(ACCESS_HEADER, claims({ aud: ['api', 7] })) },
  { name: 'a 20 KB token is rejected before decoding', because: 'token is too long', token: () => forge(ACCESS_HEADER, claims({ padding: 'x'.repeat(20_000) })) }
]

for (const testCase of cases) {
  t.test(testCase.name, async (t) => {
    const app = await buildApp(t, testCase.auth === undefined ? {} : { auth: testCase.auth })
    const headers = testCase.via === 'cookie' ? { cookie: `__Host-access-token=${testCase.token()}` } : bearer(testCase.token())
    const res = await app.inject({ url: '/me', headers })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, testCase.code ?? INVALID)
    t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/)
    // The description names the check that fired, so a case cannot pass by tripping an earlier one.
    if (testCase.because !== undefined) t.match(res.headers['www-authenticate'], `: ${testCase.because}"`)
  })
}

t.test('the same checks accept a well-formed token, so the rejections above are not vacuous', async (t) => {
  const app = await buildApp(t, { auth: { issuer: 'issuer', audience: ['api', 'other'] } })
  const res = await app.inject({ url: '/me', headers: bearer(forge({ ...ACCESS_HEADER, typ: 'application/AT+JWT' }, claims({ iss: 'issuer', aud: ['other'], nbf: now() - 1 }))) })
  t.equal(res.statusCode, 200)
  t.equal(res.json().sub, 'user-1')
})

t.test('a token expired by less than the clock tolerance is still accepted', async (t) => {
  const app = await buildApp(t, { auth: { clockTolerance: 30 } })
  const res = await app.inject({ url: '/me', headers: bearer(forge(ACCESS_HEADER, claims({ exp: now() - 10 }))) })
  t.equal(res.statusCode, 200)
})

t.test('verifyToken() rejects like authenticate, with the same challenge', async (t) => {
  const app = await buildApp(t)
  const res = await app.inject({ url: '/peek', headers: bearer(forge(ACCESS_HEADER, claims({ exp: now() - 60 }))) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, EXPIRED)
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('an ES256 token whose signature s is replaced by n - s is rejected with 401, although the math verifies', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const app = await buildApp(t, { auth: { keys: [{ kid: 'es', privateKey }] } })
  const token = await app.tokenAuth.sign({ sub: 'user-1' })
  t.notOk(isHighS(token.split('.')[2]), 'we sign low-S')
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'the token as signed is accepted')
  const res = await app.inject({ url: '/me', headers: bearer(withOtherS(token)) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, INVALID)
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token", error_description="[^"]+: bad signature"$/)
})

// Asymmetric keys: the key decides the algorithm, whatever the token's header says.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string

/** A token signed by node:crypto alone, with any header: what an attacker or another issuer sends. */
function signedWith (header: Record<string, unknown>, hash: string, options: Parameters<typeof cryptoSign>[2]): string {
  const signingInput = `${segment({ typ: 'at+jwt', ...header })}.${segment(claims())}`
  return `${signingInput}.${cryptoSign(hash, Buffer.from(signingInput), options).toString('base64url')}`
}

const asymmetricCases: Array<{ name: string, because: string, keys: () => unknown[], token: () => string }> = [
  {
    name: 'an RS256 token sent to an HS256 app is rejected',
    because: 'algorithm does not match the key',
    keys: () => [{ secret: SECRET }],
    token: () => signedWith({ alg: 'RS256' }, 'sha256', rsa.privateKey)
  },
  {
    name: 'an HS256 token forged with the RSA public key PEM as the HMAC secret is rejected (algorithm confusion)',
    because: 'algorithm does not match the key',
    keys: () => [{ publicKey: rsaPem }],
    token: () => forge(ACCESS_HEADER, claims(), { secret: rsaPem })
  },
  {
    name: 'a PS256 token for a key configured as RS256 is rejected, although signed by the same RSA key',
    because: 'algorithm does not match the key',
    keys: () => [{ alg: 'RS256', publicKey: rsa.publicKey }],
    token: () => signedWith({ alg: 'PS256' }, 'sha256', { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
  },
  {
    name: 'an RS256 token for a key configured as PS256 is rejected, although signed by the same RSA key',
    because: 'algorithm does not match the key',
    keys: () => [{ alg: 'PS256', publicKey: rsa.publicKey }],
    token: () => signedWith({ alg: 'RS256' }, 'sha256', rsa.privateKey)
  },
  {
    name: 'an alg none token to an RS256 app is rejected',
    because: 'unsigned tokens are never accepted',
    keys: () => [{ publicKey: rsa.publicKey }],
    token: () => `${segment({ alg: 'none', typ: 'at+jwt' })}.${segment(claims())}.AAAA`
  },
  {
    name: 'an RS256 token whose signature is one byte short of the modulus is rejected',
    because: 'bad signature',
    keys: () => [{ publicKey: rsa.publicKey }],
    token: () => { const token = signedWith({ alg: 'RS256' }, 'sha256', rsa.privateKey); const [h, p, sig] = token.split('.'); return `${h}.${p}.${Buffer.from(sig, 'base64url').subarray(1).toString('base64url')}` }
  }
]

for (const testCase of asymmetricCases) {
  t.test(testCase.name, async (t) => {
    // A verify-only service: public keys, Bearer tokens only (no secret to bind CSRF tokens to).
    const app = await buildApp(t, { auth: { keys: testCase.keys() as never, transport: { cookie: false } } })
    const res = await app.inject({ url: '/me', headers: bearer(testCase.token()) })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, INVALID)
    t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/)
    t.match(res.headers['www-authenticate'], `: ${testCase.because}"`)
  })
}

t.test('an ES384 token with its high-S twin signature is rejected with 401, and the low-S original accepted', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const app = await buildApp(t, { auth: { keys: [{ privateKey }] } })
  const token = await app.tokenAuth.sign({ sub: 'user-1' })
  t.equal(Buffer.from(token.split('.')[2], 'base64url').length, 96, 'raw r||s of 48 bytes each')
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)
  const res = await app.inject({ url: '/me', headers: bearer(withOtherS(token)) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, INVALID)
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token", error_description="[^"]+: bad signature"$/)
})

t.test('an ES512 token whose signature is not 132 bytes (DER, or trimmed) is rejected with 401', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' })
  const app = await buildApp(t, { auth: { keys: [{ privateKey }] } })
  const token = await app.tokenAuth.sign({ sub: 'user-1' })
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'the token as signed is accepted')
  const [header, payload] = token.split('.')
  const der = cryptoSign('sha512', Buffer.from(`${header}.${payload}`), privateKey).toString('base64url')
  const trimmed = Buffer.from(token.split('.')[2], 'base64url').subarray(0, 131).toString('base64url')
  for (const signature of [der, trimmed]) {
    const res = await app.inject({ url: '/me', headers: bearer(`${header}.${payload}.${signature}`) })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, INVALID)
    t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token", error_description="[^"]+: bad signature"$/)
  }
})
