import type { KeyObject } from 'node:crypto'

/** The signature algorithms a key can be bound to. `none` is not one of them, on purpose. */
export const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'EdDSA', 'ES256'] as const
export type Algorithm = typeof ALGORITHMS[number]

export interface AlgorithmSpec {
  family: 'hmac' | 'eddsa' | 'ecdsa'
  /** Digest for HMAC and ECDSA; Ed25519 hashes internally. */
  hash: 'sha256' | 'sha384' | 'sha512' | null
  /** Shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash output size). */
  minSecretBytes: number
  /** Bytes of a raw signature for the asymmetric algorithms (JWS uses raw r||s for ECDSA). */
  signatureBytes: number
  /** Group order n of the ECDSA curve, for the low-S rule (RFC 7518 §3.4 leaves s free); null otherwise. */
  ecdsaGroupOrder: bigint | null
}

// SEC 2 §2.4.2, secp256r1 (P-256).
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n

export const ALGORITHM_SPECS: Readonly<Record<Algorithm, AlgorithmSpec>> = {
  HS256: { family: 'hmac', hash: 'sha256', minSecretBytes: 32, signatureBytes: 32, ecdsaGroupOrder: null },
  HS384: { family: 'hmac', hash: 'sha384', minSecretBytes: 48, signatureBytes: 48, ecdsaGroupOrder: null },
  HS512: { family: 'hmac', hash: 'sha512', minSecretBytes: 64, signatureBytes: 64, ecdsaGroupOrder: null },
  EdDSA: { family: 'eddsa', hash: null, minSecretBytes: 0, signatureBytes: 64, ecdsaGroupOrder: null },
  ES256: { family: 'ecdsa', hash: 'sha256', minSecretBytes: 0, signatureBytes: 64, ecdsaGroupOrder: P256_ORDER }
}

export function isAlgorithm (value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value)
}

/** Describes the asymmetric key types each algorithm needs, for checks and messages. */
export function keyMatchesAlgorithm (key: KeyObject, alg: Algorithm): boolean {
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519'
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
}
