import { ALGORITHM_SPECS, type Algorithm } from '../tokens/algorithms.js'
import type { Jwk } from '../tokens/key-material.js'
import { createRingKey, type RingKey } from '../tokens/key-ring.js'
import { shownValue } from '../shown-value.js'
import { RemoteFetchError } from './fetch-json.js'

export interface JwksKeyOptions {
  /** Asymmetric algorithms accepted from this issuer; a key for any other is skipped. */
  algorithms: readonly Algorithm[]
  /** A document with more entries than this is refused whole. */
  maxKeys: number
  /** The issuer, for messages. */
  name: string
}

/** A key left out, and why; the reason never holds key material. */
export interface SkippedKey {
  kid: string | undefined
  reason: string
}

export interface JwksKeys {
  keys: RingKey[]
  skipped: SkippedKey[]
}

// The algorithm an EC or OKP key can only ever serve, by its curve.
const CURVE_ALGORITHMS: Readonly<Record<string, Algorithm>> = { Ed25519: 'EdDSA', 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }

// Only these members reach node:crypto: private members (d, p, q, dp, dq, qi, oth, k) are
// never held, and x5c/x5t are ignored since no certificate chain is validated.
const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = { OKP: ['crv', 'x'], EC: ['crv', 'x', 'y'], RSA: ['n', 'e'] }

// A kid is only ever shown in logs; an absurdly long one is cut (createRingKey refuses over 128 anyway).
const shownKid = (kid: unknown): string | undefined => typeof kid === 'string' ? kid.slice(0, 128) : undefined

function inferredAlgorithm (jwk: Record<string, unknown>, algorithms: readonly Algorithm[]): Algorithm | undefined {
  if (jwk.kty === 'RSA') return algorithms.find((alg) => ALGORITHM_SPECS[alg].family === 'rsa' || ALGORITHM_SPECS[alg].family === 'rsa-pss')
  if (jwk.kty !== 'OKP' && jwk.kty !== 'EC') return undefined
  const alg = typeof jwk.crv === 'string' ? CURVE_ALGORITHMS[jwk.crv] : undefined
  return alg !== undefined && algorithms.includes(alg) ? alg : undefined
}

type Verdict = { alg: Algorithm } | { reason: string }

/** The algorithm an entry serves, or why it cannot be used, before its key is even built. */
function algorithmOf (entry: Record<string, unknown>, algorithms: readonly Algorithm[]): Verdict {
  if (entry.kty === 'oct') return { reason: 'a symmetric (oct) key is never taken from a network document' }
  if (entry.use !== undefined && entry.use !== 'sig') return { reason: `use is ${shownValue(entry.use)}, not "sig"` }
  if (entry.key_ops !== undefined && !(Array.isArray(entry.key_ops) && entry.key_ops.includes('verify'))) return { reason: 'key_ops does not include "verify"' }
  if (typeof entry.kid !== 'string') return { reason: 'kid is missing or not a string' }
  if (entry.alg !== undefined) {
    return (algorithms as readonly unknown[]).includes(entry.alg)
      ? { alg: entry.alg as Algorithm }
      : { reason: `alg ${shownValue(entry.alg)} is not accepted from this issuer (accepted: ${algorithms.join(', ')})` }
  }
  const inferred = inferredAlgorithm(entry, algorithms)
  return inferred !== undefined
    ? { alg: inferred }
    : { reason: `no alg stated, and none of ${algorithms.join(', ')} fits a ${shownValue(entry.kty)} key${typeof entry.crv === 'string' ? ` on ${shownValue(entry.crv)}` : ''}` }
}

function publicJwk (entry: Record<string, unknown>): Jwk {
  const jwk: Jwk = { kty: entry.kty as string }
  for (const member of PUBLIC_MEMBERS[entry.kty as string] ?? []) jwk[member] = entry[member]
  return jwk
}

function ringKeyOrReason (entry: unknown, options: JwksKeyOptions): RingKey | string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return 'the entry is not a JSON object'
  const fields = entry as Record<string, unknown>
  const verdict = algorithmOf(fields, options.algorithms)
  if ('reason' in verdict) return verdict.reason
  const kid = fields.kid as string
  try {
    // Other signers write either ECDSA s; both spellings verify, as with every JWT library.
    return createRingKey({ kid, alg: verdict.alg, publicKey: publicJwk(fields) }, `key "${shownKid(kid)}"`, { ecdsaAnyS: true })
  } catch (error) {
    return (error as Error).message.replace(/^fastify-token-auth: /, '')
  }
}

/**
 * The verification keys of a JWKS document (RFC 7517 §5). A document that is not a key set,
 * or holds more than maxKeys entries, is refused (RemoteFetchError); a single unusable entry
 * is only skipped, so one odd key an issuer publishes does not stop the others from working.
 */
export function keysFromJwks (document: unknown, options: JwksKeyOptions): JwksKeys {
  const entries = typeof document === 'object' && document !== null ? (document as { keys?: unknown }).keys : undefined
  if (!Array.isArray(entries)) throw new RemoteFetchError('the document is not a JSON Web Key Set (no "keys" array)')
  if (entries.length > options.maxKeys) throw new RemoteFetchError(`the document has ${entries.length} keys, more than the limit of ${options.maxKeys}`)
  const candidates: RingKey[] = []
  const skipped: SkippedKey[] = []
  for (const entry of entries) {
    const result = ringKeyOrReason(entry, options)
    if (typeof result === 'string') skipped.push({ kid: shownKid((entry as { kid?: unknown } | null)?.kid), reason: result })
    else candidates.push(result)
  }
  // Two usable keys under one kid: which one a token meant is unknowable, so neither verifies.
  // Entries skipped for another reason (an encryption key sharing the kid) make nothing ambiguous.
  const counts = new Map<string, number>()
  for (const key of candidates) counts.set(key.kid, (counts.get(key.kid) ?? 0) + 1)
  const keys: RingKey[] = []
  for (const key of candidates) {
    if (counts.get(key.kid) === 1) keys.push(key)
    else skipped.push({ kid: key.kid, reason: `${counts.get(key.kid) as number} usable keys have this kid; none is used` })
  }
  return { keys, skipped }
}
