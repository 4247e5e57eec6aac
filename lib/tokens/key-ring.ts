import { constants, createHmac, createPublicKey, sign as signBytes, verify as verifyBytes, type KeyObject, type SignKeyObjectInput, type VerifyKeyObjectInput } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { ALGORITHM_SPECS, ALGORITHMS, isAlgorithm, type Algorithm, type AlgorithmSpec } from './algorithms.js'
import { decodeSignature, isBase64urlSegment, utf8Bytes } from './base64url.js'
import { isLowS, lowSLimit, orderBytes, toLowS } from './ecdsa-low-s.js'
import { algorithmForKey } from './key-algorithm.js'
import { hmacSecretKey, privateKeyFrom, publicKeyFrom, type Jwk, type KeyMaterial } from './key-material.js'
import { publicJwkOf, thumbprintKid } from './public-jwk.js'
import { STRICT_SECRET_POLICY, type WeakSecretPolicy } from './weak-secret-policy.js'
import { shownValue } from '../shown-value.js'

/** One key as configured. Give `secret` for HMAC, or `privateKey` and/or `publicKey` for EdDSA, ECDSA and RSA. */
export interface KeyDefinition {
  /**
   * Key id, sent in the token header. Default: for HMAC the algorithm name ('HS256'…), never
   * anything derived from the secret; for a public key the start of its RFC 7638 thumbprint.
   */
  kid?: string | undefined
  /**
   * Default: HS256 for a secret, EdDSA for an Ed25519 key, ES256/ES384/ES512 for a P-256/P-384/P-521
   * key, RS256 for an RSA key, PS256 for an RSA-PSS key (PS384/PS512 when the key is restricted to
   * that hash). When stated, the key must fit it.
   */
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

// The node:crypto options each family signs and verifies with: JWS ECDSA signatures are raw
// r||s (RFC 7518 §3.4), not DER; PSS salts are as long as the hash (RFC 7518 §3.5).
function cryptoOptions (spec: AlgorithmSpec, key: KeyObject): SignKeyObjectInput & VerifyKeyObjectInput {
  if (spec.family === 'ecdsa') return { key, dsaEncoding: 'ieee-p1363' }
  if (spec.family === 'rsa-pss') return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
  return { key }
}

function asymmetricKey (kid: string | undefined, alg: Algorithm, privateKey: KeyObject | undefined, publicKey: KeyObject, anyS: boolean): RingKey {
  const spec = ALGORITHM_SPECS[alg]
  const signOptions = privateKey === undefined ? undefined : cryptoOptions(spec, privateKey)
  const verifyOptions = cryptoOptions(spec, publicKey)
  // An RSA signature is exactly as long as the modulus: any other length is refused unread.
  const signatureBytes = spec.signatureBytes === 0 ? Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength as number) / 8) : spec.signatureBytes
  const order = spec.ecdsaGroupOrder
  const sLimit = order === null ? undefined : lowSLimit(order, signatureBytes / 2)
  const orderScalar = order === null ? undefined : orderBytes(order, signatureBytes / 2)
  const checkedSLimit = anyS ? undefined : sLimit
  const jwk = publicJwkOf(publicKey)
  const resolvedKid = kid ?? thumbprintKid(jwk)
  return {
    kid: resolvedKid,
    alg,
    canSign: signOptions !== undefined,
    sign (input) {
      if (signOptions === undefined) throw new TypeError(`key "${resolvedKid}" has no private key and cannot sign`)
      const signature = signBytes(spec.hash, utf8Bytes(input), signOptions)
      // node:crypto picks either s; the low-S one is the only spelling we write and accept.
      return (orderScalar === undefined ? signature : toLowS(signature, orderScalar, sLimit as Buffer)).toString('base64url')
    },
    verify (input, signature) {
      if (!isBase64urlSegment(signature)) return false
      const bytes = decodeSignature(signature)
      return bytes.length === signatureBytes && (checkedSLimit === undefined || isLowS(bytes, checkedSLimit)) &&
        verifyBytes(spec.hash, utf8Bytes(input), verifyOptions, bytes)
    },
    publicJwk: { ...jwk, kid: resolvedKid, alg, use: 'sig' }
  }
}

/** How a key definition is checked and named in messages. */
export interface RingKeyContext {
  /** Whether a guessable HMAC secret is accepted (tests only). Default: never. */
  policy?: WeakSecretPolicy | undefined
  /** The option the secret came from as the user wrote it. Default: `${name}.secret`. */
  secretName?: string | undefined
  /**
   * Accept ECDSA signatures with either s (s and n - s). Only for another issuer's keys:
   * other signers (jose, cloud KMS) pick either, so insisting on low S would refuse about
   * half their tokens. Our own keys always write and accept the low-S spelling only.
   */
  ecdsaAnyS?: boolean | undefined
}

/** Turns one user-supplied key definition into a RingKey, with a clear error for every mistake. */
export function createRingKey (definition: KeyDefinition, name: string, context: RingKeyContext = {}): RingKey {
  if (typeof definition !== 'object' || definition === null) throw new InvalidOptionError(`${name} must be an object`)
  const { kid, alg, secret } = definition
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
    throw new InvalidOptionError(`${name}.kid must be a non-empty string of at most ${MAX_KID_LENGTH} characters`)
  }
  if (alg !== undefined && !isAlgorithm(alg)) {
    throw new InvalidOptionError(`${name}.alg must be one of ${ALGORITHMS.join(', ')}; got ${shownValue(alg)}`)
  }
  const hasAsymmetric = definition.privateKey !== undefined || definition.publicKey !== undefined
  if (secret !== undefined && hasAsymmetric) {
    throw new InvalidOptionError(`${name} has both a secret and a private/public key; one key, one algorithm`)
  }
  if (secret === undefined && !hasAsymmetric) {
    throw new InvalidOptionError(`${name} needs a secret (HMAC) or a privateKey/publicKey (EdDSA, ECDSA, RSA)`)
  }
  const privateKey = definition.privateKey === undefined ? undefined : privateKeyFrom(definition.privateKey, `${name}.privateKey`)
  const derivedPublicKey = privateKey === undefined ? undefined : createPublicKey(privateKey)
  const publicKey = definition.publicKey === undefined ? derivedPublicKey : publicKeyFrom(definition.publicKey, `${name}.publicKey`)
  if (publicKey === undefined) {
    const hmacAlg = alg ?? 'HS256'
    if (ALGORITHM_SPECS[hmacAlg].family !== 'hmac') throw new InvalidOptionError(`${name}.alg is ${hmacAlg}, which needs a privateKey or publicKey`)
    return hmacKey(kid, hmacAlg, hmacSecretKey(secret, hmacAlg, context.secretName ?? `${name}.secret`, context.policy ?? STRICT_SECRET_POLICY))
  }
  if (alg !== undefined && ALGORITHM_SPECS[alg].family === 'hmac') {
    throw new InvalidOptionError(`${name}.alg is ${alg}, which needs a secret`)
  }
  const resolvedAlg = algorithmForKey(publicKey, alg, name)
  if (derivedPublicKey !== undefined && !derivedPublicKey.equals(publicKey)) {
    throw new InvalidOptionError(`${name}.publicKey does not belong to ${name}.privateKey`)
  }
  return asymmetricKey(kid, resolvedAlg, privateKey, publicKey, context.ecdsaAnyS === true)
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
