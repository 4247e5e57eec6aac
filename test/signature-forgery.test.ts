import { constants, createHmac, generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import t, { type Test } from 'tap'
import { buildApp, SECRET } from './helpers/app.js'
import { bearer, claims, segment } from './helpers/forge.js'

// A forger's attempts against RSA, RSA-PSS and ECDSA keys, sent over HTTP: algorithm
// confusion in every direction, keys named by the token itself, and every other spelling
// of a signature. Each must be a 401 with an invalid_token challenge, never a 200 or a 500.

const INVALID = 'FST_TOKEN_AUTH_INVALID_TOKEN'
const MISMATCH = 'algorithm does not match the key'
const BAD_SIGNATURE = 'bad signature'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const attackerRsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ES512: generateKeyPairSync('ec', { namedCurve: 'P-521' })
}
const ed = generateKeyPairSync('ed25519')
const HASH_OF = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' } as const
const ORDER_OF = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ES512: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n
} as const

const headerFor = (alg: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ alg, typ: 'at+jwt', ...extra })

/** header.payload, as a forger builds it. */
const signingInputFor = (header: Record<string, unknown>): string => `${segment(header)}.${segment(claims())}`

/** A token signed by node:crypto alone with any header: what a forger can make with a key of their own. */
function signedWith (header: Record<string, unknown>, hash: string | null, options: Parameters<typeof cryptoSign>[2]): string {
  const signingInput = signingInputFor(header)
  return `${signingInput}.${cryptoSign(hash, Buffer.from(signingInput), options).toString('base64url')}`
}

/** An HMAC token whose secret is public data: the classic algorithm-confusion forgery. */
function hmacWith (secret: string | Buffer, alg = 'HS256', extra: Record<string, unknown> = {}): string {
  const signingInput = signingInputFor(headerFor(alg, extra))
  const hash = `sha${alg.slice(2)}`
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest('base64url')}`
}

function withSignature (token: string, signature: Buffer): string {
  return `${token.slice(0, token.lastIndexOf('.'))}.${signature.toString('base64url')}`
}

const signatureOf = (token: string): Buffer => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url')
const scalar = (value: bigint, bytes: number): Buffer => Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex')

async function refused (t: Test, keys: unknown[], token: string, because: string, auth: Record<string, unknown> = {}): Promise<void> {
  // A verify-only service with Bearer tokens only: the public keys are all a forger knows.
  const app = await buildApp(t, { auth: { keys: keys as never, transport: { cookie: false }, ...auth } })
  const res = await app.inject({ url: '/me', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, INVALID)
  t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/)
  t.match(res.headers['www-authenticate'], `: ${because}"`)
}

async function accepted (t: Test, keys: unknown[], token: string): Promise<void> {
  const app = await buildApp(t, { auth: { keys: keys as never, transport: { cookie: false } } })
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200, 'the control token is accepted')
}

t.test('HS256/384/512 tokens keyed with an RSA public key in any published encoding are rejected', async (t) => {
  const jwk = rsa.publicKey.export({ format: 'jwk' })
  const encodings: Record<string, string | Buffer> = {
    'PEM spki': rsa.publicKey.export({ type: 'spki', format: 'pem' }),
    'PEM pkcs1': rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }),
    'DER spki': rsa.publicKey.export({ type: 'spki', format: 'der' }),
    'DER pkcs1': rsa.publicKey.export({ type: 'pkcs1', format: 'der' }),
    'JWK JSON': JSON.stringify(jwk),
    'JWKS JSON': JSON.stringify({ keys: [jwk] }),
    'n bytes': Buffer.from(jwk.n as string, 'base64url'),
    'n base64url': jwk.n as string
  }
  for (const [name, secret] of Object.entries(encodings)) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      t.test(`${alg} with the ${name}`, async (t) => refused(t, [{ publicKey: rsa.publicKey }], hmacWith(secret, alg), MISMATCH))
    }
  }
})

t.test('HS256 tokens keyed with an EC or Ed25519 public key in any encoding are rejected', async (t) => {
  for (const [name, pair] of Object.entries({ ...ec, EdDSA: ed })) {
    const jwk = pair.publicKey.export({ format: 'jwk' })
    const raw = Buffer.concat([jwk.x, jwk.y].filter((member) => member !== undefined).map((member) => Buffer.from(member, 'base64url')))
    for (const secret of [pair.publicKey.export({ type: 'spki', format: 'pem' }), pair.publicKey.export({ type: 'spki', format: 'der' }), JSON.stringify(jwk), raw]) {
      t.test(`${name}`, async (t) => refused(t, [{ publicKey: pair.publicKey }], hmacWith(secret), MISMATCH))
    }
  }
})

t.test('RS* and PS* never stand in for each other, whichever hash and whichever key type', async (t) => {
  for (const hash of ['256', '384', '512']) {
    const pss = { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(hash) / 8 }
    t.test(`PS${hash} for RS${hash}`, async (t) => refused(t, [{ alg: `RS${hash}`, publicKey: rsa.publicKey }], signedWith(headerFor(`PS${hash}`), `sha${hash}`, pss), MISMATCH))
    t.test(`RS${hash} for PS${hash}`, async (t) => refused(t, [{ alg: `PS${hash}`, publicKey: rsa.publicKey }], signedWith(headerFor(`RS${hash}`), `sha${hash}`, rsa.privateKey), MISMATCH))
    if (hash !== '256') t.test(`RS256 for RS${hash}`, async (t) => refused(t, [{ alg: `RS${hash}`, publicKey: rsa.publicKey }], signedWith(headerFor('RS256'), 'sha256', rsa.privateKey), MISMATCH))
  }
  const pssKey = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
  t.test('RS256 for an RSA-PSS key', async (t) => refused(t, [{ publicKey: pssKey.publicKey }], signedWith(headerFor('RS256'), 'sha256', pssKey.privateKey), MISMATCH))
})

t.test('ES256, ES384, ES512 and EdDSA never stand in for each other, nor do keys of other curves', async (t) => {
  const algs = ['ES256', 'ES384', 'ES512'] as const
  for (const ringAlg of algs) {
    for (const tokenAlg of algs) {
      for (const signer of algs) {
        if (tokenAlg === ringAlg && signer === ringAlg) continue
        const token = signedWith(headerFor(tokenAlg), HASH_OF[tokenAlg], { key: ec[signer].privateKey, dsaEncoding: 'ieee-p1363' })
        t.test(`${tokenAlg} header signed by a ${signer} key, ${ringAlg} ring`, async (t) =>
          refused(t, [{ publicKey: ec[ringAlg].publicKey }], token, tokenAlg === ringAlg ? BAD_SIGNATURE : MISMATCH))
      }
    }
    t.test(`EdDSA (64-byte signature) for ${ringAlg}`, async (t) => refused(t, [{ publicKey: ec[ringAlg].publicKey }], signedWith(headerFor('EdDSA'), null, ed.privateKey), MISMATCH))
    t.test(`${ringAlg} for EdDSA`, async (t) => refused(t, [{ publicKey: ed.publicKey }], signedWith(headerFor(ringAlg), HASH_OF[ringAlg], { key: ec[ringAlg].privateKey, dsaEncoding: 'ieee-p1363' }), MISMATCH))
    t.test(`an ${ringAlg} header signed by an Ed25519 key`, async (t) => refused(t, [{ publicKey: ec.ES256.publicKey }], signedWith(headerFor('ES256'), null, ed.privateKey), BAD_SIGNATURE))
  }
})

t.test('an alg in another case, with whitespace, or not a string is rejected', async (t) => {
  const keys = [{ publicKey: rsa.publicKey }]
  for (const alg of ['rs256', 'Rs256', 'RS256 ', ' RS256', 'RS256\u0000', 'RS 256', 'RS256,HS256']) {
    t.test(JSON.stringify(alg), async (t) => refused(t, keys, signedWith(headerFor(alg), 'sha256', rsa.privateKey), MISMATCH))
  }
  for (const alg of [256, ['RS256'], { RS256: true }, null, true]) {
    t.test(JSON.stringify(alg), async (t) => refused(t, keys, signedWith(headerFor(alg), 'sha256', rsa.privateKey), 'header has no alg'))
  }
  const duplicate = `${Buffer.from('{"alg":"HS256","typ":"at+jwt","alg":"RS256"}').toString('base64url')}.${segment(claims())}`
  t.test('a duplicated alg: the last one is read, and must still fit the key', async (t) =>
    accepted(t, keys, `${duplicate}.${cryptoSign('sha256', Buffer.from(duplicate), rsa.privateKey).toString('base64url')}`))
})

t.test('headers that embed or point to a key are refused, even when the embedded key signed the token', async (t) => {
  const keys = [{ publicKey: rsa.publicKey }]
  const attackerJwk = attackerRsa.publicKey.export({ format: 'jwk' })
  const attackerCert = attackerRsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
  const embedded: Record<string, unknown> = {
    jwk: attackerJwk,
    jku: 'https://evil.example/jwks.json',
    x5u: 'https://evil.example/cert.pem',
    x5c: [attackerCert]
  }
  for (const [name, value] of Object.entries(embedded)) {
    t.test(name, async (t) => refused(t, keys, signedWith(headerFor('RS256', { [name]: value }), 'sha256', attackerRsa.privateKey), `header parameter ${name} is not accepted`))
  }
  t.test('crit', async (t) => refused(t, keys, signedWith(headerFor('RS256', { crit: ['b64'], b64: false }), 'sha256', rsa.privateKey), 'header has critical extensions this service does not support'))
  t.test('a token signed by the attacker key alone', async (t) => refused(t, keys, signedWith(headerFor('RS256'), 'sha256', attackerRsa.privateKey), BAD_SIGNATURE))
})

t.test('in a mixed ring, a kid naming a key of another algorithm is rejected', async (t) => {
  const keys = [
    { secret: SECRET },
    { kid: 'rsa', publicKey: rsa.publicKey },
    { kid: 'pss', alg: 'PS256', publicKey: rsa.publicKey },
    { kid: 'ec', publicKey: ec.ES256.publicKey },
    { kid: 'ed', publicKey: ed.publicKey }
  ]
  const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' })
  t.test('HS256 keyed with the RSA PEM, kid of the RSA key', async (t) => refused(t, keys, hmacWith(pem, 'HS256', { kid: 'rsa' }), MISMATCH))
  t.test('RS256 with the kid of the HMAC key', async (t) => refused(t, keys, signedWith(headerFor('RS256', { kid: 'HS256' }), 'sha256', rsa.privateKey), MISMATCH))
  t.test('RS256 with the kid of the PS256 key', async (t) => refused(t, keys, signedWith(headerFor('RS256', { kid: 'pss' }), 'sha256', rsa.privateKey), MISMATCH))
  t.test('ES256 with the kid of the Ed25519 key', async (t) => refused(t, keys, signedWith(headerFor('ES256', { kid: 'ed' }), 'sha256', { key: ec.ES256.privateKey, dsaEncoding: 'ieee-p1363' }), MISMATCH))
  t.test('EdDSA with the kid of the EC key', async (t) => refused(t, keys, signedWith(headerFor('EdDSA', { kid: 'ec' }), null, ed.privateKey), MISMATCH))
  t.test('RS256 without a kid', async (t) => refused(t, keys, signedWith(headerFor('RS256'), 'sha256', rsa.privateKey), 'unknown signing key'))
  t.test('the right kid and alg are accepted', async (t) => accepted(t, keys, signedWith(headerFor('RS256', { kid: 'rsa' }), 'sha256', rsa.privateKey)))
})

for (const alg of ['ES256', 'ES384', 'ES512'] as const) {
  t.test(`${alg}: every other spelling of a signature is rejected`, async (t) => {
    const keys = [{ publicKey: ec[alg].publicKey }]
    const order = ORDER_OF[alg]
    // Sign until node:crypto picks a low s, so the control token is the canonical one.
    let token: string
    do token = signedWith(headerFor(alg), HASH_OF[alg], { key: ec[alg].privateKey, dsaEncoding: 'ieee-p1363' })
    while (BigInt(`0x${signatureOf(token).subarray(signatureOf(token).length / 2).toString('hex')}`) > order >> 1n)
    await accepted(t, keys, token)
    const signature = signatureOf(token)
    const width = signature.length / 2
    const r = signature.subarray(0, width)
    const s = BigInt(`0x${signature.subarray(width).toString('hex')}`)
    const spellings: Record<string, Buffer> = {
      'high S (n - s)': Buffer.concat([r, scalar(order - s, width)]),
      'r = 0': Buffer.concat([Buffer.alloc(width), scalar(s, width)]),
      's = 0': Buffer.concat([r, Buffer.alloc(width)]),
      'r = s = 0': Buffer.alloc(2 * width),
      'r = n': Buffer.concat([scalar(order, width), scalar(s, width)]),
      's = n': Buffer.concat([r, scalar(order, width)]),
      'all bits set': Buffer.alloc(2 * width, 0xff),
      'DER encoded': cryptoSign(HASH_OF[alg], Buffer.from(token.slice(0, token.lastIndexOf('.'))), ec[alg].privateKey),
      'a trailing byte': Buffer.concat([signature, Buffer.from([0])]),
      'a leading zero byte': Buffer.concat([Buffer.from([0]), signature]),
      'each scalar zero-padded': Buffer.concat([Buffer.from([0]), r, Buffer.from([0]), scalar(s, width)]),
      'the first byte dropped': signature.subarray(1)
    }
    for (const [name, bytes] of Object.entries(spellings)) {
      t.test(name, async (t) => refused(t, keys, withSignature(token, bytes), BAD_SIGNATURE))
    }
  })
}

t.test('RSA: a signature of any length but the modulus, or not below it, is rejected', async (t) => {
  const keys = [{ alg: 'RS512', publicKey: rsa.publicKey }]
  const token = signedWith(headerFor('RS512'), 'sha512', rsa.privateKey)
  await accepted(t, keys, token)
  const signature = signatureOf(token)
  const modulus = Buffer.from(rsa.publicKey.export({ format: 'jwk' }).n as string, 'base64url')
  const spellings: Record<string, Buffer> = {
    'one extra leading zero byte': Buffer.concat([Buffer.from([0]), signature]),
    'the leading byte stripped': signature.subarray(1),
    'a trailing byte': Buffer.concat([signature, Buffer.from([0])]),
    'the signature plus the modulus': Buffer.from((BigInt(`0x${signature.toString('hex')}`) + BigInt(`0x${modulus.toString('hex')}`)).toString(16), 'hex'),
    'the modulus itself': modulus,
    'all bits set': Buffer.alloc(modulus.length, 0xff),
    'all bytes zero': Buffer.alloc(modulus.length),
    'the number one': Buffer.concat([Buffer.alloc(modulus.length - 1), Buffer.from([1])])
  }
  for (const [name, bytes] of Object.entries(spellings)) {
    t.test(name, async (t) => refused(t, keys, withSignature(token, bytes), BAD_SIGNATURE))
  }
})

t.test('RSA: a 16 KB signature is refused by length before any RSA work', async (t) => {
  const token = withSignature(signedWith(headerFor('RS512'), 'sha512', rsa.privateKey), Buffer.alloc(16384, 7))
  t.test('at the default maxTokenLength', async (t) => refused(t, [{ alg: 'RS512', publicKey: rsa.publicKey }], token, 'token is too long'))
  const short = withSignature(token, Buffer.alloc(12000 * 3 / 4, 7))
  t.test('at the largest maxTokenLength', async (t) => refused(t, [{ alg: 'RS512', publicKey: rsa.publicKey }], short, BAD_SIGNATURE, { maxTokenLength: 16384 }))
})

t.test('PS256/384/512: only a salt as long as the hash is accepted (RFC 7518 §3.5)', async (t) => {
  for (const bits of [256, 384, 512]) {
    const hashBytes = bits / 8
    const keys = [{ alg: `PS${bits}`, publicKey: rsa.publicKey }]
    const pssWith = (saltLength: number): string => signedWith(headerFor(`PS${bits}`), `sha${bits}`, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength })
    t.test(`PS${bits} with a ${hashBytes}-byte salt`, async (t) => accepted(t, keys, pssWith(hashBytes)))
    const longest = 256 - hashBytes - 2
    for (const saltLength of [0, 20, hashBytes - 1, hashBytes + 1, longest]) {
      t.test(`PS${bits} with a ${saltLength}-byte salt`, async (t) => refused(t, keys, pssWith(saltLength), BAD_SIGNATURE))
    }
  }
})

function rsaPublicKeyWithExponent (e: Buffer): Record<string, string> {
  return { kty: 'RSA', n: rsa.publicKey.export({ format: 'jwk' }).n as string, e: e.toString('base64url') }
}

t.test('an RSA key with public exponent 1 is refused at registration: with it, the padded digest is its own signature', async (t) => {
  const keys = [{ publicKey: rsaPublicKeyWithExponent(Buffer.from([1])) }]
  await t.rejects(buildApp(t, { auth: { keys: keys as never, transport: { cookie: false } } }), { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /public exponent 1; the exponent must be odd, at least 65537/ })
})
