import { InvalidOptionError } from '../lib/errors.js'
import { deriveKey, deriveKeysFromRing, type DerivedKeys } from '../lib/tokens/derived-keys.js'
import type { KeyDefinition } from '../lib/tokens/key-ring.js'
import { checkSecretStrength, type WeakSecretPolicy } from '../lib/tokens/weak-secret-policy.js'

/** The keys CSRF tokens are made with: one to issue, every one to accept (key rotation). */
export type CsrfKeys = DerivedKeys

export interface CsrfKeySources {
  /** `csrf.secret`: replaces the derivation from the token keys. */
  csrfSecret?: string | Buffer | undefined
  /** The token keys as configured (`secret` or `keys`), already validated by the key ring. */
  definitions: readonly KeyDefinition[]
  /** Whether a guessable `csrf.secret` is accepted, as for the token secrets. */
  policy: WeakSecretPolicy
}

export const MIN_CSRF_SECRET_BYTES = 32
const PURPOSE = 'csrf-token v1'

/**
 * Derives the CSRF keys at registration with HKDF: from `csrf.secret` when given,
 * otherwise from each token key's secret material, issuing under the signing key's.
 * Undefined when there is no secret material (a verify-only ring).
 */
export function deriveCsrfKeys ({ csrfSecret, definitions, policy }: CsrfKeySources): CsrfKeys | undefined {
  if (csrfSecret === undefined) return deriveKeysFromRing(definitions, PURPOSE)
  if ((typeof csrfSecret !== 'string' && !Buffer.isBuffer(csrfSecret)) || Buffer.byteLength(csrfSecret) < MIN_CSRF_SECRET_BYTES) {
    throw new InvalidOptionError(`csrf.secret must be a string or Buffer of at least ${MIN_CSRF_SECRET_BYTES} random bytes`)
  }
  const bytes = Buffer.from(csrfSecret)
  checkSecretStrength(bytes, 'csrf.secret', policy)
  const key = deriveKey(bytes, PURPOSE)
  return { issuing: key, accepted: [key] }
}
