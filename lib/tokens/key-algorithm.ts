import type { AsymmetricKeyDetails, KeyObject } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { ALGORITHM_SPECS, MAX_RSA_BITS, MAX_RSA_EXPONENT, MIN_RSA_BITS, MIN_RSA_EXPONENT, type Algorithm } from './algorithms.js'

// Which algorithm an asymmetric key serves. The key decides: a stated `alg` must agree
// with it, and an unstated one is read from it.

const CURVE_NAMES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

/** The key as a person would name it in a message: "an EC P-384 key", "an RSA key of 1024 bits". */
export function describeKey (key: KeyObject): string {
  const details = key.asymmetricKeyDetails as AsymmetricKeyDetails
  switch (key.asymmetricKeyType) {
    case 'ec': return `an EC ${CURVE_NAMES[details.namedCurve as string] ?? (details.namedCurve as string)} key`
    case 'rsa': return `an RSA key of ${details.modulusLength as number} bits`
    case 'rsa-pss': return `an RSA-PSS key of ${details.modulusLength as number} bits${details.hashAlgorithm === undefined ? '' : ` restricted to ${details.hashAlgorithm}`}`
    case 'ed25519': return 'an Ed25519 key'
    default: return `a ${String(key.asymmetricKeyType)} key`
  }
}

function fits (key: KeyObject, alg: Algorithm): boolean {
  const spec = ALGORITHM_SPECS[alg]
  const details = key.asymmetricKeyDetails as AsymmetricKeyDetails
  if (!spec.keyTypes.includes(key.asymmetricKeyType as string)) return false
  if (spec.namedCurve !== null) return details.namedCurve === spec.namedCurve
  // An RSA-PSS key may carry its own parameters; they must be the ones JWS prescribes.
  if (key.asymmetricKeyType === 'rsa-pss') {
    const hashBytes = Number((spec.hash as string).slice(3)) / 8
    return (details.hashAlgorithm ?? spec.hash) === spec.hash && (details.mgf1HashAlgorithm ?? spec.hash) === spec.hash &&
      (details.saltLength ?? 0) <= hashBytes
  }
  return true
}

/**
 * The algorithm for a key: `alg` when stated and the key fits it, else the conventional
 * one for the key (RS256 for RSA, PS256, or the PSS hash it is restricted to, for RSA-PSS).
 */
export function algorithmForKey (key: KeyObject, alg: Algorithm | undefined, name: string): Algorithm {
  const resolved = alg ?? inferredAlgorithm(key, name)
  if (!fits(key, resolved)) {
    throw new InvalidOptionError(`${name} is ${describeKey(key)}, which cannot be used for ${resolved} (${resolved} needs ${ALGORITHM_SPECS[resolved].needs})`)
  }
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (bits !== undefined) checkRsaKey(key, bits, resolved, name)
  return resolved
}

function checkRsaKey (key: KeyObject, bits: number, alg: Algorithm, name: string): void {
  if (bits < MIN_RSA_BITS) {
    throw new InvalidOptionError(`${name} is ${describeKey(key)}; ${alg} needs at least ${MIN_RSA_BITS} bits (generate a 2048- or 3072-bit key)`)
  }
  if (bits > MAX_RSA_BITS) {
    throw new InvalidOptionError(`${name} is ${describeKey(key)}; node:crypto verifies with RSA keys of at most ${MAX_RSA_BITS} bits (generate a 2048- or 3072-bit key)`)
  }
  const exponent = key.asymmetricKeyDetails?.publicExponent as bigint
  if (exponent % 2n === 0n || exponent < MIN_RSA_EXPONENT || exponent > MAX_RSA_EXPONENT) {
    throw new InvalidOptionError(`${name} is ${describeKey(key)} with public exponent ${exponent}; the exponent must be odd, at least ${MIN_RSA_EXPONENT} and at most 64 bits (keys generated today use 65537)`)
  }
}

function inferredAlgorithm (key: KeyObject, name: string): Algorithm {
  const details = key.asymmetricKeyDetails as AsymmetricKeyDetails
  switch (key.asymmetricKeyType) {
    case 'ed25519': return 'EdDSA'
    case 'rsa': return 'RS256'
    case 'rsa-pss': return details.hashAlgorithm === 'sha384' ? 'PS384' : details.hashAlgorithm === 'sha512' ? 'PS512' : 'PS256'
    case 'ec':
      if (details.namedCurve === 'secp384r1') return 'ES384'
      if (details.namedCurve === 'secp521r1') return 'ES512'
      if (details.namedCurve === 'prime256v1') return 'ES256'
  }
  throw new InvalidOptionError(`${name} is ${describeKey(key)}, which no supported algorithm uses (EdDSA needs Ed25519; ES256, ES384, ES512 need EC P-256, P-384, P-521; RS* and PS* need RSA)`)
}
