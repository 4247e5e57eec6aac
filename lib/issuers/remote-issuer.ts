import type { Clock } from '../clock.js'
import { TokenInvalidError } from '../errors.js'
import { createHttpRevocationFeed } from '../remote/http-revocation-feed.js'
import { RemoteKeySet, type KeySetLogger } from '../remote/remote-key-set.js'
import { createRevocationCheck } from '../sessions/revocation-check.js'
import { RevocationList } from '../sessions/revocation-list.js'
import { RevocationSync } from '../sessions/revocation-sync.js'
import type { RevocationCheck } from '../tokens/access-tokens.js'
import { checkClaims, type ClaimsPolicy } from '../tokens/claims.js'
import { deepFreeze } from '../tokens/deep-freeze.js'
import { checkProtectedHeader } from '../tokens/jwt-verifier.js'
import type { RingKey } from '../tokens/key-ring.js'
import type { ResolvedIssuer } from './issuer-options.js'

/** A token split and decoded, its signature not yet checked. */
export interface DecodedToken {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: string
  signature: string
}

/** What a verification produced: the claims as `request.user` holds them, and what vouched for them. */
export interface RemoteVerification {
  claims: Record<string, unknown>
  /** The `kid` the token named (undefined when none) and the key it found: a cached result is served only while the issuer still publishes that key. */
  kid: string | undefined
  key: RingKey
}

export interface RemoteIssuerEnvironment {
  clock: Clock
  log: KeySetLogger
  /** An id missing from the feed this long is a rolled-back insert, not a slow commit. */
  gapTimeoutMs: number
  /** How long an id given up on is still looked for (see RevocationSyncOptions). */
  lateGapRetentionMs: number
  clockToleranceSeconds: number
}

// A revocation feed answer is a page of rows; a generous limit still bounds a hostile one.
const FEED_MAX_BYTES = 4 * 1024 * 1024

/**
 * One external issuer: its keys (a JWKS kept fresh off the hot path), its token profile,
 * and, when it has a revocation feed, the revocations read from it. Its tokens are
 * verified with its keys only, never with this service's or another issuer's.
 */
export class RemoteIssuer {
  readonly issuer: string
  readonly keys: RemoteKeySet
  readonly #options: ResolvedIssuer
  readonly #policy: ClaimsPolicy
  readonly #clock: Clock
  readonly #sync: RevocationSync | undefined
  readonly #abort = new AbortController()
  readonly #revocationCheck: RevocationCheck | undefined

  constructor (options: ResolvedIssuer, environment: RemoteIssuerEnvironment) {
    const { clock, log } = environment
    this.issuer = options.issuer
    this.#options = options
    this.#clock = clock
    // Required claims are the profile's to decide; exp is always checked here.
    this.#policy = { issuer: options.issuer, audience: options.audience, clockToleranceSeconds: environment.clockToleranceSeconds, required: [] }
    this.keys = new RemoteKeySet({ ...options.jwks, name: options.issuer, algorithms: options.algorithms, clock, log })
    const feed = options.revocations
    if (feed === undefined) return
    const list = new RevocationList()
    this.#sync = new RevocationSync({
      feed: createHttpRevocationFeed({ url: feed.url, credential: feed.credential, timeoutMs: feed.timeoutMs, maxBytes: FEED_MAX_BYTES, clock, signal: this.#abort.signal }),
      list,
      clock,
      intervalMs: feed.syncIntervalMs,
      maxStalenessMs: feed.maxStalenessMs,
      pollTimeoutMs: feed.timeoutMs,
      gapTimeoutMs: environment.gapTimeoutMs,
      lateGapRetentionMs: environment.lateGapRetentionMs,
      onStatusChange (healthy, error) {
        if (healthy) log.info(`revocations from ${options.issuer} are in sync again`)
        else log.error({ issuer: options.issuer, reason: (error as Error).message }, 'cannot read the issuer\'s revocation feed; its tokens answer 503 until it is back')
      }
    })
    this.#revocationCheck = createRevocationCheck(list, this.#sync)
  }

  /** Runs on every use of the claims, cached or not: a revocation is never outlived. */
  checkRevocation (claims: Record<string, unknown>, nowMs: number): void {
    // Only the claims revocation looks at (jti, sid, sub, ver) are read, each checked for its type.
    this.#revocationCheck?.(claims as unknown as Parameters<RevocationCheck>[0], nowMs)
  }

  /**
   * Verifies a decoded token of this issuer. Synchronous when its key is known; a promise
   * only when an unknown `kid` made the key set fetch the issuer's JWKS again.
   */
  verify (token: DecodedToken): RemoteVerification | Promise<RemoteVerification> {
    const profile = this.#options.profile
    const { alg, kid } = checkProtectedHeader(token.header, (typ) => profile.acceptsTyp(typ))
    const found = this.keys.lookup(kid)
    if (found instanceof Promise) return found.then((key) => this.#verifyWith(key, alg, kid, token))
    return this.#verifyWith(found, alg, kid, token)
  }

  #verifyWith (key: RingKey | undefined, alg: string, kid: string | undefined, token: DecodedToken): RemoteVerification {
    if (key === undefined) throw new TokenInvalidError('unknown signing key')
    if (alg !== key.alg) throw new TokenInvalidError('algorithm does not match the key')
    if (!key.verify(token.signingInput, token.signature)) throw new TokenInvalidError('bad signature')
    const nowMs = this.#clock.now()
    checkClaims(token.payload, this.#policy, nowMs / 1000)
    const claims = deepFreeze(this.#options.profile.apply(token.payload))
    this.checkRevocation(claims, nowMs)
    return { claims, kid, key }
  }

  /** Whether a cached verification may still be served: the issuer still publishes its key. */
  stillPublishes (verification: RemoteVerification): boolean {
    const found = this.keys.lookup(verification.kid)
    if (found instanceof Promise) {
      // The kid is gone and a fetch may bring it back. Nobody awaits this promise (the full
      // verification that follows waits on the same fetch), so a rejection (the keys aged
      // out meanwhile) must be handled here: an unhandled one ends the process.
      found.catch(() => {})
      return false
    }
    return found === verification.key
  }

  /** The first JWKS fetch and revocation sync (neither fails startup: the issuer may start later), then their timers. */
  async start (): Promise<void> {
    await Promise.all([this.keys.start(), this.#sync?.start()])
  }

  async stop (): Promise<void> {
    this.#abort.abort()
    await Promise.all([this.keys.stop(), this.#sync?.stop()])
  }
}
