import { createHash, createHmac, createPublicKey, sign as signBytes, verify as verifyBytes, type KeyObject } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { ALGORITHM_SPECS, isAlgorithm, keyMatchesAlgorithm, type Algorithm } from './algorithms.js'
import { utf8Bytes, isBase64urlSegment } from './base64url.js'
import { isLowS, lowSLimit, toLowS } from './ecdsa-low-s.js'
import { hmacSecretKey, privateKeyFrom, publicKeyFrom, type Jwk, type KeyMaterial } from './key-material.js'
import { STRICT_SECRET_POLICY, type WeakSecretPolicy } from './weak-secret-policy.js'
import { shownValue } from '../shown-value.js'

/** One key as configured. Give `secret` for HMAC, or `privateKey` and/or `publicKey` for EdDSA and ES256. */
export interface KeyDefinition {
  /**
   * Key id, sent in the token header. Default: for HMAC the algorithm name ('HS256'…), never
   * anything derived from the secret; for EdDSA and ES256 the start of the public key's RFC 7638 thumbprint.
   */
  kid?: string | undefined
  /** Default: HS256 for a secret, EdDSA for an Ed25519 key, ES256 for a P-256 key. */
  alg?: Algorithm | undefined
  secret?: string | Buffer | KeyObject | undefined
  privateKey?: KeyMaterial | undefined
  publicKey?: KeyMaterial | undefined
}

/** A key bound to exactly one algorithm, ready to sign and verify JWS signing inputs. */
export interface RingKey {
  readonly kid: string
  readonly alg: Algorithm
  readonly canSign: boolean
  /** Returns the base64url signature of `signingInput`. */
  sign: (signingInput: string) => string
  /** Checks a base64url signature; false for any signature that is not canonical. */
  verify: (signingInput: string, signature: string) => boolean
  /** Public JWK for the JWKS document; undefined for HMAC keys, which are never published. */
  readonly publicJwk: Jwk | undefined
}

export interface JsonWebKeySet { keys: Jwk[] }

const MAX_KID_LENGTH = 128

// Default key ids of public keys are the first 16 characters (96 bits) of the RFC 7638
// thumbprint: public data, unique in practice, and every token header stays short.
const DEFAULT_KID_LENGTH = 16

function defaultPublicKid (jwk: Jwk): string {
  // RFC 7638: the required members only, in lexicographic order, no whitespace.
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url').slice(0, DEFAULT_KID_LENGTH)
}

/**
 * Compares two strings of equal length in time that does not depend on where they
 * differ: no early exit, so a forger learns nothing from how long a refusal took.
 * (Node's timingSafeEqual needs Buffers; making them costs more than the HMAC it protects.)
 */
function constantTimeEqual (a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}

function hmacKey (kid: string | undefined, alg: Algorithm, secret: KeyObject): RingKey {
  const hash = ALGORITHM_SPECS[alg].hash as string
  // digest('base64url') is markedly faster than digest() to a Buffer, and gives the form to compare.
  const sign = (input: string): string => createHmac(hash, secret).update(input).digest('base64url')
  return {
    // Anything computed from the secret would let a token reader test guesses at it offline,
    // so the default is a constant: instances sharing a secret still agree on it.
    kid: kid ?? alg,
    alg,
    canSign: true,
    sign,
    // The expected string is canonical, so equality also proves the signature's encoding is.
    verify: (input, signature) => constantTimeEqual(signature, sign(input)),
    publicJwk: undefined
  }
}

function asymmetricKey (kid: string | undefined, alg: Algorithm, privateKey: KeyObject | undefined, publicKey: KeyObject): RingKey {
  const spec = ALGORITHM_SPECS[alg]
  // JWS ES256 signatures are raw r||s (RFC 7518 §3.4), not DER.
  const signOptions = privateKey === undefined ? undefined : { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
  const verifyOptions = { key: publicKey, dsaEncoding: 'ieee-p1363' as const }
  const order = spec.ecdsaGroupOrder
  const sLimit = order === null ? undefined : lowSLimit(order, spec.signatureBytes / 2)
  const jwk: Jwk = publicKey.export({ format: 'jwk' })
  const resolvedKid = kid ?? defaultPublicKid(jwk)
  return {
    kid: resolvedKid,
    alg,
    canSign: signOptions !== undefined,
    sign (input) {
      if (signOptions === undefined) throw new TypeError(`key "${resolvedKid}" has no private key and cannot sign`)
      const signature = signBytes(spec.hash, utf8Bytes(input), signOptions)
      // node:crypto picks either s; the low-S one is the only spelling we write and accept.
      return (order === null ? signature : toLowS(signature, order, sLimit as Buffer)).toString('base64url')
    },
    verify (input, signature) {
      if (!isBase64urlSegment(signature)) return false
      const bytes = Buffer.from(signature, 'base64url')
      return bytes.length === spec.signatureBytes && (sLimit === undefined || isLowS(bytes, sLimit)) &&
        verifyBytes(spec.hash, utf8Bytes(input), verifyOptions, bytes)
    },
    publicJwk: { ...jwk, kid: resolvedKid, alg, use: 'sig' }
  }
}

function inferAlgorithm (definition: KeyDefinition, key: KeyObject | undefined): Algorithm {
  if (definition.secret !== undefined || key === undefined) return 'HS256'
  return key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256'
}

/** How a key definition is checked and named in messages. */
export interface RingKeyContext {
  /** Whether a guessable HMAC secret is accepted (tests only). Default: never. */
  policy?: WeakSecretPolicy | undefined
  /** The option the secret came from as the user wrote it. Default: `${name}.secret`. */
  secretName?: string | undefined
}

/** Turns one user-supplied key definition into a RingKey, with a clear error for every mistake. */
export function createRingKey (definition: KeyDefinition, name: string, context: RingKeyContext = {}): RingKey {
  if (typeof definition !== 'object' || definition === null) throw new InvalidOptionError(`${name} must be an object`)
  const { kid, alg, secret } = definition
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
    throw new InvalidOptionError(`${name}.kid must be a non-empty string of at most ${MAX_KID_LENGTH} characters`)
  }
  if (alg !== undefined && !isAlgorithm(alg)) {
    throw new InvalidOptionError(`${name}.alg must be one of HS256, HS384, HS512, EdDSA, ES256; got ${shownValue(alg)}`)
  }
  const hasAsymmetric = definition.privateKey !== undefined || definition.publicKey !== undefined
  if (secret !== undefined && hasAsymmetric) {
    throw new InvalidOptionError(`${name} has both a secret and a private/public key; one key, one algorithm`)
  }
  if (secret === undefined && !hasAsymmetric) {
    throw new InvalidOptionError(`${name} needs a secret (HMAC) or a privateKey/publicKey (EdDSA, ES256)`)
  }
  const privateKey = definition.privateKey === undefined ? undefined : privateKeyFrom(definition.privateKey, `${name}.privateKey`)
  const derivedPublicKey = privateKey === undefined ? undefined : createPublicKey(privateKey)
  const publicKey = definition.publicKey === undefined ? derivedPublicKey : publicKeyFrom(definition.publicKey, `${name}.publicKey`)
  const resolvedAlg = alg ?? inferAlgorithm(definition, publicKey)
  if (ALGORITHM_SPECS[resolvedAlg].family === 'hmac') {
    if (secret === undefined) throw new InvalidOptionError(`${name}.alg is ${resolvedAlg}, which needs a secret`)
    return hmacKey(kid, resolvedAlg, hmacSecretKey(secret, resolvedAlg, context.secretName ?? `${name}.secret`, context.policy ?? STRICT_SECRET_POLICY))
  }
  if (publicKey === undefined) throw new InvalidOptionError(`${name}.alg is ${resolvedAlg}, which needs a privateKey or publicKey`)
  if (!keyMatchesAlgorithm(publicKey, resolvedAlg)) {
    throw new InvalidOptionError(`${name} is a ${String(publicKey.asymmetricKeyType)} key, which cannot be used for ${resolvedAlg} (EdDSA needs Ed25519, ES256 needs P-256)`)
  }
  if (derivedPublicKey !== undefined && !derivedPublicKey.equals(publicKey)) {
    throw new InvalidOptionError(`${name}.publicKey does not belong to ${name}.privateKey`)
  }
  return asymmetricKey(kid, resolvedAlg, privateKey, publicKey)
}

/**
 * The keys a service signs and verifies with. The first key signs; every key verifies,
 * so a new key goes first and the old ones stay until the tokens they signed expire.
 */
export class KeyRing {
  readonly keys: readonly RingKey[]
  readonly signingKey: RingKey | undefined
  readonly #byKid: Map<string, RingKey>

  constructor (keys: readonly RingKey[]) {
    if (keys.length === 0) throw new InvalidOptionError('at least one key is needed: give `secret` or `keys`')
    this.keys = keys
    this.#byKid = new Map()
    for (const key of keys) {
      if (this.#byKid.has(key.kid)) {
        throw new InvalidOptionError(`two keys have the kid "${key.kid}"; key ids must be unique: give each key an explicit kid (two HMAC keys of one algorithm always need one, since their default kid is the algorithm name)`)
      }
      this.#byKid.set(key.kid, key)
    }
    this.signingKey = keys[0].canSign ? keys[0] : undefined
  }

  /**
   * The key for a token header: by `kid` when the token names one, otherwise the only key.
   * A `kid` is only ever a lookup in this in-memory map, never a path, URL or query.
   */
  find (kid: string | undefined): RingKey | undefined {
    if (kid !== undefined) return this.#byKid.get(kid)
    return this.keys.length === 1 ? this.keys[0] : undefined
  }

  /** The JWKS document (RFC 7517) with the public keys; HMAC secrets never appear. */
  jwks (): JsonWebKeySet {
    const keys: Jwk[] = []
    for (const key of this.keys) if (key.publicJwk !== undefined) keys.push(key.publicJwk)
    return { keys }
  }
}

export function createKeyRing (definitions: readonly KeyDefinition[], policy: WeakSecretPolicy = STRICT_SECRET_POLICY): KeyRing {
  if (!Array.isArray(definitions)) throw new InvalidOptionError('keys must be an array of key definitions')
  return new KeyRing(definitions.map((definition, index) => createRingKey(definition, `keys[${index}]`, { policy })))
}
