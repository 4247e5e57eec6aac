import type { Clock } from '../clock.js'
import { TokenInvalidError } from '../errors.js'
import type { AccessTokenClaimsBase, AccessTokens } from '../tokens/access-tokens.js'
import { decodeJsonObject, locateSegments } from '../tokens/jwt-verifier.js'
import { VerifiedTokenCache } from '../tokens/verified-token-cache.js'
import type { RemoteIssuer, RemoteVerification } from './remote-issuer.js'

export interface TokenVerifierParts<Claims extends AccessTokenClaimsBase> {
  /** This service's own tokens, when it has keys. */
  local: AccessTokens<Claims> | undefined
  issuers: readonly RemoteIssuer[]
  clock: Clock
  maxTokenLength: number
  clockToleranceSeconds: number
  /** Remote tokens remembered after verification; 0 turns the cache off. */
  cacheSize: number
}

interface CachedVerification extends RemoteVerification {
  issuer: RemoteIssuer
}

/**
 * Every access token a request may carry: this service's own, and those of the issuers it
 * accepts. A token goes to the issuer its `iss` names, and only that issuer's keys can
 * verify it (issuer-bound key sets); any other token is this service's to verify, or
 * refused when it has no keys. Synchronous except when an unknown `kid` made an issuer's
 * key set fetch its JWKS again.
 */
export class TokenVerifier<Claims extends AccessTokenClaimsBase = AccessTokenClaimsBase> {
  readonly #local: AccessTokens<Claims> | undefined
  readonly #issuers: ReadonlyMap<string, RemoteIssuer>
  readonly #clock: Clock
  readonly #maxTokenLength: number
  readonly #toleranceMs: number
  readonly #cache: VerifiedTokenCache<CachedVerification> | undefined

  constructor (parts: TokenVerifierParts<Claims>) {
    this.#local = parts.local
    this.#issuers = new Map(parts.issuers.map((issuer) => [issuer.issuer, issuer]))
    this.#clock = parts.clock
    this.#maxTokenLength = parts.maxTokenLength
    this.#toleranceMs = parts.clockToleranceSeconds * 1000
    this.#cache = parts.cacheSize > 0 ? new VerifiedTokenCache(parts.cacheSize) : undefined
  }

  verify (token: unknown): Claims | Promise<Claims> {
    // Without issuers, this service's own tokens take the path they always took.
    if (this.#issuers.size === 0) return this.#ownTokens().verify(token)
    const cached = typeof token === 'string' ? this.#cache?.get(token, this.#clock.now()) : undefined
    if (cached !== undefined && cached.issuer.stillPublishes(cached)) {
      cached.issuer.checkRevocation(cached.claims, this.#clock.now())
      return cached.claims as Claims
    }
    const { token: text, firstDot, secondDot } = locateSegments(token, this.#maxTokenLength)
    const payload = decodeJsonObject(text.slice(firstDot + 1, secondDot), 'payload')
    const issuer = typeof payload.iss === 'string' ? this.#issuers.get(payload.iss) : undefined
    if (issuer === undefined) return this.#ownTokens().verify(text)
    const verification = issuer.verify({
      header: decodeJsonObject(text.slice(0, firstDot), 'header'),
      payload,
      signingInput: text.slice(0, secondDot),
      signature: text.slice(secondDot + 1)
    })
    if (verification instanceof Promise) return verification.then((verified) => this.#remember(text, issuer, verified))
    return this.#remember(text, issuer, verification)
  }

  #remember (token: string, issuer: RemoteIssuer, verification: RemoteVerification): Claims {
    // Served until exp + tolerance, as long as the issuer still publishes the key and nothing revoked it.
    const validUntil = (verification.claims.exp as number) * 1000 + this.#toleranceMs
    this.#cache?.set(token, { ...verification, issuer }, validUntil)
    return verification.claims as Claims
  }

  #ownTokens (): AccessTokens<Claims> {
    if (this.#local === undefined) throw new TokenInvalidError('unknown issuer')
    return this.#local
  }
}
