/** The signature algorithms a key can be bound to. `none` is not one of them, on purpose. */
export const ALGORITHMS = [
  'HS256', 'HS384', 'HS512', 'EdDSA', 'ES256', 'ES384', 'ES512',
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'
] as const
export type Algorithm = typeof ALGORITHMS[number]

export type Hash = 'sha256' | 'sha384' | 'sha512'

export interface AlgorithmSpec {
  /** rsa is RSASSA-PKCS1-v1_5, rsa-pss is RSASSA-PSS with a salt as long as the hash (RFC 7518 §3.5). */
  family: 'hmac' | 'eddsa' | 'ecdsa' | 'rsa' | 'rsa-pss'
  /** Digest for HMAC, ECDSA and RSA; Ed25519 hashes internally. */
  hash: Hash | null
  /** Shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash output size). */
  minSecretBytes: number
  /** Bytes of a raw EdDSA or ECDSA signature (JWS uses raw r||s); 0 for RSA, where the modulus decides. */
  signatureBytes: number
  /** Group order n of the ECDSA curve, for the low-S rule (RFC 7518 §3.4 leaves s free); null otherwise. */
  ecdsaGroupOrder: bigint | null
  /** The node:crypto key types the algorithm accepts (none for HMAC). */
  keyTypes: readonly string[]
  /** The curve an ECDSA key must be on, as node:crypto names it. */
  namedCurve: string | null
  /** The key it needs, for messages. */
  needs: string
}

/** RSA keys below this size are refused for every RSA algorithm (RFC 7518 §3.3 and §3.5). */
export const MIN_RSA_BITS = 2048

/** OpenSSL's largest RSA modulus (OPENSSL_RSA_MAX_MODULUS_BITS): it refuses to verify with a larger one. */
export const MAX_RSA_BITS = 16384

/**
 * RSA public exponents accepted: odd, at least 65537 (FIPS 186-5 §A.1.1), and at most 64 bits
 * (OpenSSL's limit for moduli over 3072 bits). With e = 1 a signature is its own padded
 * digest, so anyone could forge one; a small or even e is a broken or hostile key.
 */
export const MIN_RSA_EXPONENT = 65537n
export const MAX_RSA_EXPONENT = (1n << 64n) - 1n

// SEC 2 §2.4.2, §2.5.1 and §2.6.1: the group orders of P-256, P-384 and P-521.
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
const P384_ORDER = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n
const P521_ORDER = 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n

const hmac = (hash: Hash, bytes: number): AlgorithmSpec =>
  ({ family: 'hmac', hash, minSecretBytes: bytes, signatureBytes: bytes, ecdsaGroupOrder: null, keyTypes: [], namedCurve: null, needs: `a secret of at least ${bytes} bytes` })
const ecdsa = (hash: Hash, curve: string, jwkCurve: string, scalarBytes: number, order: bigint): AlgorithmSpec =>
  ({ family: 'ecdsa', hash, minSecretBytes: 0, signatureBytes: 2 * scalarBytes, ecdsaGroupOrder: order, keyTypes: ['ec'], namedCurve: curve, needs: `an EC ${jwkCurve} key` })
const rsa = (hash: Hash): AlgorithmSpec =>
  ({ family: 'rsa', hash, minSecretBytes: 0, signatureBytes: 0, ecdsaGroupOrder: null, keyTypes: ['rsa'], namedCurve: null, needs: `an RSA key of at least ${MIN_RSA_BITS} bits` })
// A plain RSA key may sign PSS too (JWKs have no PSS key type); an RSA-PSS key only PSS.
const rsaPss = (hash: Hash): AlgorithmSpec =>
  ({ family: 'rsa-pss', hash, minSecretBytes: 0, signatureBytes: 0, ecdsaGroupOrder: null, keyTypes: ['rsa', 'rsa-pss'], namedCurve: null, needs: `an RSA or RSA-PSS key of at least ${MIN_RSA_BITS} bits` })

export const ALGORITHM_SPECS: Readonly<Record<Algorithm, AlgorithmSpec>> = {
  HS256: hmac('sha256', 32),
  HS384: hmac('sha384', 48),
  HS512: hmac('sha512', 64),
  EdDSA: { family: 'eddsa', hash: null, minSecretBytes: 0, signatureBytes: 64, ecdsaGroupOrder: null, keyTypes: ['ed25519'], namedCurve: null, needs: 'an Ed25519 key' },
  ES256: ecdsa('sha256', 'prime256v1', 'P-256', 32, P256_ORDER),
  ES384: ecdsa('sha384', 'secp384r1', 'P-384', 48, P384_ORDER),
  ES512: ecdsa('sha512', 'secp521r1', 'P-521', 66, P521_ORDER),
  RS256: rsa('sha256'),
  RS384: rsa('sha384'),
  RS512: rsa('sha512'),
  PS256: rsaPss('sha256'),
  PS384: rsaPss('sha384'),
  PS512: rsaPss('sha512')
}

export function isAlgorithm (value: unknown): value is Algorithm {
  return typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value)
}
