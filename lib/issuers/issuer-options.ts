import { toSeconds, type Duration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../options/known-keys.js'
import { integerInRange } from '../options/option-values.js'
import { checkRemoteUrl } from '../remote/remote-url.js'
import { shownValue } from '../shown-value.js'
import { ALGORITHM_SPECS, ALGORITHMS, type Algorithm } from '../tokens/algorithms.js'
import { resolveTokenProfile, type TokenProfile, type TokenProfileOptions } from './token-profile.js'

/** Where an issuer publishes its public keys, and how long what was read is trusted. */
export interface IssuerJwksOptions {
  /** The JWKS URL: https, or http to localhost with `allowInsecureLocalhost`. */
  url: string | URL
  /** The whole fetch, headers and body. Default '5s'. */
  timeout?: Duration | undefined
  /** Least time between two fetches caused by unknown `kid`s or retries. Default '30s'. */
  cooldown?: Duration | undefined
  /** Shortest time a fetched document is used before it is refreshed, whatever its headers say. Default '1m'. */
  minAge?: Duration | undefined
  /** Longest time a fetched document is used before it is refreshed, whatever its headers say. Default '1h'. */
  maxAge?: Duration | undefined
  /** Used when the response has no caching headers. Default '10m' (at most maxAge). */
  defaultAge?: Duration | undefined
  /** How long keys stay in use after their age ran out while the issuer cannot be reached; past it, 503. Default '1h'. */
  staleWindow?: Duration | undefined
  /** Larger JWKS documents are refused. Default 65536 bytes. */
  maxBytes?: number | undefined
  /** JWKS documents with more keys are refused. Default 100. */
  maxKeys?: number | undefined
}

/** A revocation feed (this package's `revocationFeed` route) to poll. */
export interface IssuerRevocationsOptions {
  /** The feed URL, e.g. https://auth.example.com/auth/revocations. */
  url: string | URL
  /** The service credential the feed accepts (one of its `credentials`). */
  credential: string
  /** How often the feed is polled. Default '250ms'. */
  syncInterval?: Duration | undefined
  /** Longest a revocation can go unseen; past it, tokens of this issuer answer 503. Default '1s'. */
  maxStaleness?: Duration | undefined
  /** One poll's time limit. Default: half of maxStaleness, at most 5 s. */
  timeout?: Duration | undefined
}

/** A token issuer this service accepts tokens from, verified with that issuer's keys only. */
export interface IssuerOptions {
  /** The exact `iss` its tokens carry. */
  issuer: string
  jwks: IssuerJwksOptions
  /**
   * The audience this API is known by at the issuer: a token must name one of these in `aud`.
   * `false` accepts any audience (a named relaxation: Cognito access tokens carry no `aud`;
   * check `profile.clientIds` instead).
   */
  audience: string | string[] | false
  /** Algorithms accepted from this issuer. Default: every asymmetric one (never HMAC). */
  algorithms?: Algorithm[] | undefined
  /** How its tokens look: RFC 9068 by default; anything relaxed is named here. */
  profile?: TokenProfileOptions | undefined
  /** Logouts at the issuer refused here too, through its revocation feed. */
  revocations?: IssuerRevocationsOptions | undefined
  /** Allow plain http to localhost for the JWKS and the feed (development and tests). Default false. */
  allowInsecureLocalhost?: boolean | undefined
}

export interface ResolvedIssuer {
  issuer: string
  audience: string[] | undefined
  algorithms: readonly Algorithm[]
  profile: TokenProfile
  /** Everything relaxed against RFC 9068, in words. */
  relaxations: string[]
  jwks: { url: URL, timeoutMs: number, cooldownMs: number, minAgeMs: number, maxAgeMs: number, defaultAgeMs: number, staleWindowMs: number, maxBytes: number, maxKeys: number }
  revocations: { url: URL, credential: string, syncIntervalMs: number, maxStalenessMs: number, timeoutMs: number } | undefined
}

const ISSUER: KnownKeys<IssuerOptions> = { issuer: true, jwks: true, audience: true, algorithms: true, profile: true, revocations: true, allowInsecureLocalhost: true }
const JWKS: KnownKeys<IssuerJwksOptions> = { url: true, timeout: true, cooldown: true, minAge: true, maxAge: true, defaultAge: true, staleWindow: true, maxBytes: true, maxKeys: true }
const REVOCATIONS: KnownKeys<IssuerRevocationsOptions> = { url: true, credential: true, syncInterval: true, maxStaleness: true, timeout: true }
const ISSUER_NAMES = optionNames(ISSUER)
const JWKS_NAMES = optionNames(JWKS)
const REVOCATIONS_NAMES = optionNames(REVOCATIONS)

/** Every algorithm a public key can verify: an HMAC key can never be taken from a network document. */
export const ASYMMETRIC_ALGORITHMS: readonly Algorithm[] = ALGORITHMS.filter((alg) => ALGORITHM_SPECS[alg].family !== 'hmac')
const MIN_FEED_CREDENTIAL_LENGTH = 32
const MAX_POLL_TIMEOUT_SECONDS = 5

function milliseconds (value: Duration | undefined, fallback: Duration, name: string, min: number, max: number): number {
  return toSeconds(value ?? fallback, name, min, max) * 1000
}

function objectOption (value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionError(`${name} must be an object`)
  return value as Record<string, unknown>
}

function audienceOf (value: unknown, name: string): string[] | undefined {
  if (value === false) return undefined
  if (value === undefined) {
    throw new InvalidOptionError(`${name} is required: the audience your API is known by at this issuer, or false to accept any audience (then check profile.clientIds)`)
  }
  const list = ([] as unknown[]).concat(value)
  if (list.length === 0 || !list.every((entry) => typeof entry === 'string' && entry.length > 0)) {
    throw new InvalidOptionError(`${name} must be a non-empty string, an array of them, or false`)
  }
  return list as string[]
}

function algorithmsOf (value: unknown, name: string): readonly Algorithm[] {
  if (value === undefined) return ASYMMETRIC_ALGORITHMS
  if (!Array.isArray(value) || value.length === 0) throw new InvalidOptionError(`${name} must be a non-empty array of algorithms`)
  for (const alg of value) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) {
      throw new InvalidOptionError(`${name} may hold ${ASYMMETRIC_ALGORITHMS.join(', ')} (keys from a JWKS are public keys, never HMAC secrets); got ${shownValue(alg)}`)
    }
  }
  return Object.freeze([...value] as Algorithm[])
}

function jwksOf (value: unknown, name: string, allowInsecureLocalhost: boolean): ResolvedIssuer['jwks'] {
  const jwks = objectOption(value, name)
  refuseUnknownKeys(jwks, JWKS_NAMES, { path: name })
  const minAgeMs = milliseconds(jwks.minAge as Duration | undefined, '1m', `${name}.minAge`, 1, 86400)
  const maxAgeMs = milliseconds(jwks.maxAge as Duration | undefined, '1h', `${name}.maxAge`, 1, 7 * 86400)
  if (maxAgeMs < minAgeMs) throw new InvalidOptionError(`${name}.maxAge must be at least ${name}.minAge`)
  return {
    url: checkRemoteUrl(jwks.url, `${name}.url`, allowInsecureLocalhost),
    timeoutMs: milliseconds(jwks.timeout as Duration | undefined, '5s', `${name}.timeout`, 0.01, 60),
    cooldownMs: milliseconds(jwks.cooldown as Duration | undefined, '30s', `${name}.cooldown`, 0.01, 3600),
    minAgeMs,
    maxAgeMs,
    defaultAgeMs: Math.min(maxAgeMs, Math.max(minAgeMs, milliseconds(jwks.defaultAge as Duration | undefined, '10m', `${name}.defaultAge`, 1, 7 * 86400))),
    staleWindowMs: milliseconds(jwks.staleWindow as Duration | undefined, '1h', `${name}.staleWindow`, 0, 7 * 86400),
    maxBytes: integerInRange(jwks.maxBytes, `${name}.maxBytes`, 65536, 1024, 4 * 1024 * 1024),
    maxKeys: integerInRange(jwks.maxKeys, `${name}.maxKeys`, 100, 1, 1000)
  }
}

function revocationsOf (value: unknown, name: string, allowInsecureLocalhost: boolean): ResolvedIssuer['revocations'] {
  if (value === undefined) return undefined
  const feed = objectOption(value, name)
  refuseUnknownKeys(feed, REVOCATIONS_NAMES, { path: name })
  if (typeof feed.credential !== 'string' || feed.credential.length < MIN_FEED_CREDENTIAL_LENGTH || /[^\x21-\x7e]/.test(feed.credential)) {
    throw new InvalidOptionError(`${name}.credential must be the feed's service credential: at least ${MIN_FEED_CREDENTIAL_LENGTH} printable characters without spaces`)
  }
  const maxStalenessMs = milliseconds(feed.maxStaleness as Duration | undefined, '1s', `${name}.maxStaleness`, 0.05, 3600)
  const syncIntervalMs = milliseconds(feed.syncInterval as Duration | undefined, '250ms', `${name}.syncInterval`, 0.01, 3600)
  if (syncIntervalMs >= maxStalenessMs) throw new InvalidOptionError(`${name}.syncInterval must be shorter than ${name}.maxStaleness`)
  const timeoutMs = feed.timeout === undefined
    ? Math.min(maxStalenessMs / 2, MAX_POLL_TIMEOUT_SECONDS * 1000)
    : milliseconds(feed.timeout as Duration, '5s', `${name}.timeout`, 0.01, 60)
  return { url: checkRemoteUrl(feed.url, `${name}.url`, allowInsecureLocalhost), credential: feed.credential, syncIntervalMs, maxStalenessMs, timeoutMs }
}

function resolveIssuer (value: unknown, name: string): ResolvedIssuer {
  const options = objectOption(value, name)
  refuseUnknownKeys(options, ISSUER_NAMES, { path: name })
  if (typeof options.issuer !== 'string' || options.issuer.length === 0) throw new InvalidOptionError(`${name}.issuer must be the exact \`iss\` of its tokens, a non-empty string`)
  const allowInsecure = options.allowInsecureLocalhost ?? false
  if (typeof allowInsecure !== 'boolean') throw new InvalidOptionError(`${name}.allowInsecureLocalhost must be true or false`)
  const audience = audienceOf(options.audience, `${name}.audience`)
  const profile = resolveTokenProfile(options.profile ?? {}, `${name}.profile`)
  return {
    issuer: options.issuer,
    audience,
    algorithms: algorithmsOf(options.algorithms, `${name}.algorithms`),
    profile,
    relaxations: audience === undefined ? ['any audience accepted', ...profile.relaxations] : [...profile.relaxations],
    jwks: jwksOf(options.jwks, `${name}.jwks`, allowInsecure),
    revocations: revocationsOf(options.revocations, `${name}.revocations`, allowInsecure)
  }
}

/**
 * Validates `issuers` once at startup. Each `iss` appears once, and never as this
 * service's own `issuer`: a token's issuer alone decides which keys may verify it.
 */
export function resolveIssuers (value: unknown, ownIssuer: string | undefined): ResolvedIssuer[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new InvalidOptionError('issuers must be an array of issuer options')
  const resolved = value.map((issuer, index) => resolveIssuer(issuer, `issuers[${index}]`))
  const seen = new Set<string>()
  for (const { issuer } of resolved) {
    if (seen.has(issuer)) throw new InvalidOptionError(`issuers lists ${shownValue(issuer)} twice; each issuer has one key set`)
    if (issuer === ownIssuer) throw new InvalidOptionError(`issuers lists ${shownValue(issuer)}, which is this service's own issuer; its tokens are verified with its own keys`)
    seen.add(issuer)
  }
  return resolved
}
