// Micro-benchmarks: sign and verify per algorithm, against fast-jwt, jsonwebtoken, jose
// and the bare node:crypto floor, on the same key, claims and token.
import { constants, createHmac, createSecretKey, generateKeyPairSync, randomBytes, randomUUID, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import { createSigner, createVerifier } from 'fast-jwt'
import * as jose from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import { systemClock } from '../dist/esm/lib/clock.js'
import { AccessTokens } from '../dist/esm/lib/tokens/access-tokens.js'
import { createKeyRing } from '../dist/esm/lib/tokens/key-ring.js'
import { interleaved } from './measure.mjs'

const ISSUER = 'bench-issuer'
const AUDIENCE = 'bench-api'

function accessTokens (definition, cacheSize) {
  return new AccessTokens({ ring: createKeyRing([definition]), issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 3600, clockToleranceSeconds: 0, maxTokenLength: 4096, cacheSize, maxTtlSeconds: 86400, clock: systemClock })
}

/** A new string with the token's content, as every HTTP request brings one. */
function freshCopy (bytes) {
  return bytes.toString('latin1')
}

async function hs256 (rounds, ms) {
  const secret = randomBytes(32).toString('base64url')
  const ours = accessTokens({ secret }, 0)
  const oursCached = accessTokens({ secret }, 10_000)
  const { token } = ours.sign({ sub: 'user-123', roles: ['admin'] })
  const tokenBytes = Buffer.from(token, 'latin1')
  const signingInput = token.slice(0, token.lastIndexOf('.'))
  const keyObject = createSecretKey(Buffer.from(secret))
  const fastJwtVerify = createVerifier({ key: secret, algorithms: ['HS256'], allowedIss: ISSUER, allowedAud: AUDIENCE })
  const fastJwtVerifyCached = createVerifier({ key: secret, algorithms: ['HS256'], allowedIss: ISSUER, allowedAud: AUDIENCE, cache: true })
  const fastJwtSign = createSigner({ key: secret, algorithm: 'HS256', iss: ISSUER, aud: AUDIENCE, expiresIn: 3_600_000 })
  const joseKey = await crypto.subtle.importKey('raw', Buffer.from(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])

  const verify = interleaved({
    // The floor: the MAC of the same signing input, as bytes (the usual HMAC call) and
    // as the base64url text a JWS carries (Node makes that one faster).
    'bare HMAC-SHA256': () => createHmac('sha256', keyObject).update(signingInput).digest(),
    'bare HMAC-SHA256 (base64url)': () => createHmac('sha256', keyObject).update(signingInput).digest('base64url'),
    ours: () => ours.verify(token),
    'fast-jwt': () => fastJwtVerify(token),
    jsonwebtoken: () => jsonwebtoken.verify(token, keyObject, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE })
  }, rounds, ms)
  const cached = interleaved({
    'ours (cache)': () => oursCached.verify(freshCopy(tokenBytes)),
    'fast-jwt (cache)': () => fastJwtVerifyCached(freshCopy(tokenBytes))
  }, rounds, ms)
  const sign = interleaved({
    ours: () => ours.sign({ sub: 'user-123', roles: ['admin'] }),
    'fast-jwt': () => fastJwtSign({ sub: 'user-123', roles: ['admin'], jti: randomUUID() })
  }, rounds, ms)
  const joseRate = await joseVerifyRate(token, joseKey, Math.max(ms * rounds, 600))
  return { verify: { ...verify, jose: joseRate }, cached, sign }
}

/** jose only verifies asynchronously: measured with 64 verifications in flight. */
async function joseVerifyRate (token, key, ms) {
  const options = { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE }
  let done = 0
  const end = performance.now() + ms
  const start = performance.now()
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (performance.now() < end) {
      await jose.jwtVerify(token, key, options)
      done++
    }
  }))
  return done / ((performance.now() - start) / 1000)
}

// The key pair and the node:crypto options of each algorithm, as its RFC 7518 section prescribes.
const ASYMMETRIC = {
  EdDSA: { pair: () => generateKeyPairSync('ed25519'), hash: null, options: {} },
  ES256: { pair: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }), hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { pair: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }), hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  ES512: { pair: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }), hash: 'sha512', options: { dsaEncoding: 'ieee-p1363' } },
  RS256: { pair: () => generateKeyPairSync('rsa', { modulusLength: 2048 }), hash: 'sha256', options: {} },
  PS256: { pair: () => generateKeyPairSync('rsa', { modulusLength: 2048 }), hash: 'sha256', options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } }
}

/** The asymmetric algorithms measured; each is a group named by its lower-case name. */
export const ASYMMETRIC_ALGORITHMS = Object.keys(ASYMMETRIC)

function asymmetric (alg, rounds, ms) {
  const { pair: makePair, hash, options: algorithmOptions } = ASYMMETRIC[alg]
  const pair = makePair()
  const options = { key: pair.privateKey, ...algorithmOptions }
  const publicOptions = { key: pair.publicKey, ...algorithmOptions }
  const ring = createKeyRing([{ alg, privateKey: pair.privateKey }])
  const key = ring.keys[0]
  const ours = accessTokens({ alg, privateKey: pair.privateKey }, 0)
  const { token } = ours.sign({ sub: 'user-123', roles: ['admin'] })
  const signingInput = token.slice(0, token.lastIndexOf('.'))
  const signatureText = token.slice(token.lastIndexOf('.') + 1)
  const signature = Buffer.from(signatureText, 'base64url')
  const inputBytes = Buffer.from(signingInput)
  // The engine's part (key objects, raw r||s, base64url) against node:crypto alone, on the
  // same signing input; then whole tokens (claims, JSON, checks) for the full picture.
  return {
    sign: interleaved({
      'bare node:crypto': () => cryptoSign(hash, inputBytes, options),
      ours: () => key.sign(signingInput),
      'ours, whole token': () => ours.sign({ sub: 'user-123', roles: ['admin'] })
    }, rounds, ms),
    verify: interleaved({
      'bare node:crypto': () => cryptoVerify(hash, inputBytes, publicOptions, signature),
      ours: () => key.verify(signingInput, signatureText),
      'ours, whole token': () => ours.verify(token)
    }, rounds, ms)
  }
}

const GROUPS = {
  hs256,
  ...Object.fromEntries(ASYMMETRIC_ALGORITHMS.map((alg) => [alg.toLowerCase(), (rounds, ms) => asymmetric(alg, rounds, ms)]))
}

/**
 * Each group runs in a fresh process of its own, so that no group pays for the garbage
 * or the JIT state another left behind.
 */
export async function runMicro ({ rounds, ms }) {
  const { execFile } = await import('node:child_process')
  const { promisify } = await import('node:util')
  const results = {}
  for (const group of Object.keys(GROUPS)) {
    const { stdout } = await promisify(execFile)(process.execPath, [new URL(import.meta.url).pathname, group, String(rounds), String(ms)])
    results[group] = JSON.parse(stdout)
  }
  return results
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [group, rounds, ms] = process.argv.slice(2)
  console.log(JSON.stringify(await GROUPS[group](Number(rounds), Number(ms))))
}
