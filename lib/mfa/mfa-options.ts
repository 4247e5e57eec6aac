import { KeyObject } from 'node:crypto'
import { toSeconds, type Duration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import { integerInRange, optionalString } from '../options/option-values.js'
import { shownValue } from '../shown-value.js'
import type { KeyDefinition } from '../tokens/key-ring.js'
import { checkSecretStrength, type WeakSecretPolicy } from '../tokens/weak-secret-policy.js'

/** Second factors (TOTP, recovery codes, passkeys): absent, they are off. They need a `store`. */
export interface MfaOptions {
  /**
   * Encrypts TOTP secrets at rest and keys recovery-code hashes: at least 32 bytes, not the
   * token secret. An array rotates: the first encrypts, every one decrypts. Required.
   */
  encryptionKey: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** Name authenticator apps show. Default: the realm (tokenAuth) or the product name. */
  issuer?: string | undefined
  /** How long the second step of a login may take. Default '5m', from 30 s to 15 min. */
  challengeTtl?: Duration | undefined
  /** Passkeys (WebAuthn); off when absent. */
  passkeys?: PasskeyOptions | undefined
  /**
   * Wrong TOTP codes a user may get in a day from browsers they never signed in from; past
   * it, codes from new browsers wait a day (recovery codes and passkeys still work). Default 10.
   */
  maxCodeFailuresPerDay?: number | undefined
}

export interface PasskeyOptions {
  /** The relying party id: the site's domain, e.g. 'example.com' or 'localhost'. */
  rpId: string
  /** The name browsers show. Default: the issuer. */
  rpName?: string | undefined
  /** The exact origins pages ask from, e.g. 'https://example.com', 'http://localhost:3000'. */
  origins: string | string[]
  /** Passkeys one user may hold. Default 20. */
  maxPerUser?: number | undefined
}

export interface ResolvedPasskeyOptions {
  rpId: string
  /** Undefined: the issuer. */
  rpName: string | undefined
  origins: string[]
  maxPerUser: number
}

export interface ResolvedMfaOptions {
  /** The encryption keys' bytes, the current one first. */
  keys: Buffer[]
  /** Undefined: the core's product name. */
  issuer: string | undefined
  challengeTtlSeconds: number
  passkeys: ResolvedPasskeyOptions | undefined
  maxCodeFailuresPerDay: number
}

const MIN_KEY_BYTES = 32
// A domain name: labels of letters, digits and hyphens, lower case (what browsers compare).
const RP_ID = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

function keyBytes (key: unknown, name: string, policy: WeakSecretPolicy): Buffer {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) throw new InvalidOptionError(`${name} must be a string or bytes; got ${shownValue(key)}`)
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key)
  if (bytes.length < MIN_KEY_BYTES) throw new InvalidOptionError(`${name} must have at least ${MIN_KEY_BYTES} bytes`)
  // A guessed key opens every TOTP secret of a stolen database (its key id tells a guess
  // right offline) and lets each recovery-code hash be tested: as strong as the token secret.
  checkSecretStrength(bytes, name, policy)
  return bytes
}

/** The HMAC secrets of the token keys, as bytes. */
function tokenSecrets (definitions: readonly KeyDefinition[]): Buffer[] {
  return definitions.flatMap(({ secret }) => {
    if (secret === undefined) return []
    return [secret instanceof KeyObject ? secret.export() : Buffer.from(secret)]
  })
}

function encryptionKeys (value: unknown, definitions: readonly KeyDefinition[], policy: WeakSecretPolicy): Buffer[] {
  if (value === undefined) throw new InvalidOptionError('mfa.encryptionKey is required: 32+ random bytes, kept secret like the token secret')
  const many = Array.isArray(value)
  const keys = (many ? value as unknown[] : [value]).map((key, index) => keyBytes(key, many ? `mfa.encryptionKey[${index}]` : 'mfa.encryptionKey', policy))
  if (keys.length === 0) throw new InvalidOptionError('mfa.encryptionKey must name at least one key')
  const secrets = tokenSecrets(definitions)
  // One leaked key must not open both: tokens and second factors keep separate secrets.
  if (keys.some((key) => secrets.some((secret) => secret.equals(key)))) throw new InvalidOptionError('mfa.encryptionKey must not be the token secret: give it its own random bytes')
  return keys
}

function origins (value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) throw new InvalidOptionError(`mfa.passkeys.origins must be an origin or a non-empty list of origins; got ${shownValue(value)}`)
  return list.map((origin: unknown) => {
    let parsed: URL | undefined
    try {
      parsed = new URL(String(origin))
    } catch {}
    if (typeof origin !== 'string' || parsed?.origin !== origin) {
      throw new InvalidOptionError(`mfa.passkeys.origins: each must be an origin such as 'https://example.com' (scheme, host, port; no path or trailing slash); got ${shownValue(origin)}`)
    }
    return origin
  })
}

function passkeyOptions (options: PasskeyOptions | undefined): ResolvedPasskeyOptions | undefined {
  if (options === undefined) return undefined
  if (typeof options.rpId !== 'string' || !RP_ID.test(options.rpId)) {
    throw new InvalidOptionError(`mfa.passkeys.rpId must be the site's domain in lower case, such as 'example.com' or 'localhost' (no scheme or port); got ${shownValue(options.rpId)}`)
  }
  return {
    rpId: options.rpId,
    rpName: optionalString(options.rpName, 'mfa.passkeys.rpName'),
    origins: origins(options.origins),
    maxPerUser: integerInRange(options.maxPerUser, 'mfa.passkeys.maxPerUser', 20, 1, 1000)
  }
}

/**
 * Validates the `mfa` option once, at startup; undefined when second factors are off.
 * `policy`: whether a guessable encryption key is refused, as the token secret's is.
 */
export function resolveMfaOptions (options: MfaOptions | undefined, tokenKeys: readonly KeyDefinition[], policy: WeakSecretPolicy): ResolvedMfaOptions | undefined {
  if (options === undefined) return undefined
  return {
    keys: encryptionKeys(options.encryptionKey, tokenKeys, policy),
    issuer: optionalString(options.issuer, 'mfa.issuer'),
    challengeTtlSeconds: Math.round(toSeconds(options.challengeTtl ?? '5m', 'mfa.challengeTtl', 30, 900)),
    passkeys: passkeyOptions(options.passkeys),
    maxCodeFailuresPerDay: integerInRange(options.maxCodeFailuresPerDay, 'mfa.maxCodeFailuresPerDay', 10, 1, 1000)
  }
}
