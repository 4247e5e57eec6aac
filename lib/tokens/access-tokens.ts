import type { Clock } from '../clock.js'
import { InvalidOptionError } from '../errors.js'
import type { RegisteredClaims } from './claims.js'
import { deepFreeze } from './deep-freeze.js'
import { ACCESS_TOKEN_TYP } from './jws-header.js'
import { JwtSigner, type ClaimsInput, type SignedToken } from './jwt-signer.js'
import { JwtVerifier } from './jwt-verifier.js'
import type { KeyRing } from './key-ring.js'
import { VerifiedTokenCache } from './verified-token-cache.js'

/** Claims of a verified access token: what `request.user` holds. */
export interface AccessTokenClaimsBase extends RegisteredClaims {
  sub: string
  jti: string
  iat: number
  exp: number
  /** Session (refresh-token family) the token was issued in, when it came from a login. */
  sid?: string | undefined
  /** The user's token version when the token was issued. */
  ver?: number | undefined
  /** How the user proved who they are when the session started (RFC 8176): `pwd`, `otp`, `hwk`, `user`, `mfa`. */
  amr?: string[] | undefined
}

export interface AccessTokenOptions {
  ring: KeyRing
  issuer: string | undefined
  audience: string | readonly string[] | undefined
  ttlSeconds: number
  clockToleranceSeconds: number
  maxTokenLength: number
  /** Verified tokens remembered; 0 turns the cache off. */
  cacheSize: number
  /**
   * Longest lifetime any access token may be signed for, in seconds: what revocation
   * retention covers, so that no revocation is forgotten while a token it revoked lives.
   */
  maxTtlSeconds: number
  /** Where every time this class reads comes from. */
  clock: Clock
}

/** Claims only the session service writes: a caller setting them could forge a session (or a second factor). */
const SESSION_CLAIMS = ['sid', 'ver', 'amr'] as const

/**
 * Claims `sign()` refuses, and why: the session's ones (a caller setting them could forge a
 * session), and what `request.user` holds only for an API key (a token carrying them would pass for one).
 */
const RESERVED_CLAIMS: ReadonlyArray<readonly [string, string]> = [
  ...SESSION_CLAIMS.map((name) => [name, 'is set only by the session service'] as const),
  ...['authMethod', 'keyId'].map((name) => [name, 'names an API key request: no token carries it'] as const)
]

/** What the session service signs: the claims plus the session, the token version and, when known, how the user signed in. */
export type SessionClaimsInput = ClaimsInput & { sid: string, ver: number, amr?: string[] | undefined }

/** Decides, after a token verified, whether it is still honoured; throws when not. */
export type RevocationCheck = (claims: AccessTokenClaimsBase, nowMs: number) => void

/**
 * Access tokens: `typ: at+jwt`, with `sub`, `jti`, `iat` and `exp` always present.
 * With the cache on, verified claims are frozen, because the cache hands the same object
 * to every request presenting the same token.
 */
export class AccessTokens<Claims extends AccessTokenClaimsBase = AccessTokenClaimsBase> {
  readonly #signer: JwtSigner
  readonly #verifier: JwtVerifier
  readonly #cache: VerifiedTokenCache<Claims>
  readonly #toleranceMs: number
  readonly #cacheEnabled: boolean
  readonly #ttlSeconds: number
  readonly #maxTtlSeconds: number
  readonly #clock: Clock
  #revocationCheck: RevocationCheck | undefined

  constructor (options: AccessTokenOptions) {
    const { ttlSeconds, maxTtlSeconds } = options
    if (!(maxTtlSeconds > 0) || !Number.isFinite(maxTtlSeconds)) throw new InvalidOptionError(`maxTtlSeconds must be a positive number of seconds; got ${String(maxTtlSeconds)}`)
    if (!(ttlSeconds <= maxTtlSeconds)) throw new InvalidOptionError(`the access-token lifetime (${ttlSeconds} s) is longer than the longest allowed, ${maxTtlSeconds} s`)
    this.#ttlSeconds = ttlSeconds
    this.#maxTtlSeconds = maxTtlSeconds
    this.#clock = options.clock
    const audience = options.audience === undefined ? undefined : ([] as string[]).concat(options.audience)
    this.#signer = new JwtSigner(options.ring, {
      issuer: options.issuer,
      // One audience is written as a plain string, the common form (RFC 7519 §4.1.3).
      audience: audience?.length === 1 ? audience[0] : audience,
      ttlSeconds: options.ttlSeconds,
      typ: ACCESS_TOKEN_TYP
    }, options.clock)
    this.#verifier = new JwtVerifier(options.ring, {
      issuer: options.issuer,
      audience,
      clockToleranceSeconds: options.clockToleranceSeconds,
      required: ['sub', 'jti', 'iat'],
      typ: ACCESS_TOKEN_TYP,
      maxTokenLength: options.maxTokenLength
    }, options.clock)
    this.#cache = new VerifiedTokenCache(options.cacheSize)
    this.#cacheEnabled = options.cacheSize > 0
    this.#toleranceMs = options.clockToleranceSeconds * 1000
  }

  /** Installs the check that runs on every verification, cached or not. */
  useRevocationCheck (check: RevocationCheck): void {
    this.#revocationCheck = check
  }

  /**
   * Signs a token for application code (`app.tokenAuth.sign`). `sid`, `ver` and `amr` are refused:
   * they tie a token to a session, a token version and a way of signing in, which only the session service may do.
   * `issuedAtSeconds` backdates the token (a test's already-expired token).
   */
  sign (input: ClaimsInput, ttlSeconds?: number, issuedAtSeconds?: number): SignedToken {
    // One snapshot, checked and then signed, so a getter cannot add `sid` after the check.
    const claims = typeof input === 'object' && input !== null ? { ...input } : input
    for (const [name, reason] of RESERVED_CLAIMS) {
      if (typeof claims === 'object' && claims !== null && Object.hasOwn(claims, name)) throw new TypeError(`claims.${name} ${reason}`)
    }
    return this.#sign(claims, ttlSeconds, this.#issuedAt(issuedAtSeconds))
  }

  /**
   * The `iat` of a token application code signs: now, or a time it chose in the past. Never
   * in the future beyond the clock tolerance: such a token could still be valid after every
   * user-wide revocation made before it was forgotten (they are kept maxTtlSeconds + tolerance).
   */
  #issuedAt (issuedAtSeconds: number | undefined): number {
    const nowSeconds = this.#clock.now() / 1000
    if (issuedAtSeconds === undefined) return nowSeconds
    if (typeof issuedAtSeconds !== 'number' || !Number.isFinite(issuedAtSeconds) || issuedAtSeconds < 0) {
      throw new TypeError(`issuedAt must be a Date or a finite number of seconds since the epoch; got ${String(issuedAtSeconds)}`)
    }
    if (issuedAtSeconds > nowSeconds + this.#toleranceMs / 1000) {
      throw new TypeError('issuedAt must not be in the future (beyond clockTolerance); a number is seconds since the epoch, not milliseconds')
    }
    return issuedAtSeconds
  }

  /** Signs a token for the session service, which alone sets `sid`, `ver` and `amr`. */
  signForSession (input: SessionClaimsInput, ttlSeconds?: number): SignedToken {
    const claims = { ...input }
    if (typeof claims.sid !== 'string' || claims.sid.length === 0) throw new TypeError('claims.sid must be a non-empty string')
    if (!Number.isSafeInteger(claims.ver)) throw new TypeError('claims.ver must be an integer')
    return this.#sign(claims, ttlSeconds)
  }

  #sign (claims: ClaimsInput, ttlSeconds = this.#ttlSeconds, issuedAtSeconds?: number): SignedToken {
    if (ttlSeconds > this.#maxTtlSeconds) {
      throw new TypeError(`the token lifetime (${ttlSeconds} s) is longer than the longest allowed, ${this.#maxTtlSeconds} s (maxTtlSeconds)`)
    }
    return this.#signer.sign(claims, ttlSeconds, issuedAtSeconds)
  }

  verify (token: unknown): Claims {
    const nowMs = this.#clock.now()
    let claims = this.#cacheEnabled && typeof token === 'string' ? this.#cache.get(token, nowMs) : undefined
    if (claims === undefined) {
      claims = this.#verifier.verify(token, nowMs / 1000) as Claims
      if (this.#cacheEnabled) {
        // Shared by every request presenting this token, so frozen; served until exp + tolerance.
        this.#cache.set(token as string, deepFreeze(claims), claims.exp * 1000 + this.#toleranceMs)
      }
    }
    this.#revocationCheck?.(claims, nowMs)
    return claims
  }
}
