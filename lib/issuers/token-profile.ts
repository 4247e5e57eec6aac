import { InvalidOptionError, TokenInvalidError } from '../errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../options/known-keys.js'
import { shownValue } from '../shown-value.js'
import { ACCESS_TOKEN_TYP, typMatches } from '../tokens/jws-header.js'
import { claimReader, rolesFrom, scopesFrom, type ClaimSource } from './claim-path.js'

export type { ClaimSource } from './claim-path.js'

/**
 * How one issuer's access tokens look. The default is RFC 9068; each option relaxes one named
 * thing, and every relaxation is listed in `relaxations` for the startup log.
 */
export interface TokenProfileOptions {
  /** Header typ values accepted; compared like lib/tokens/jws-header.ts typMatches (case-insensitive, optional application/ prefix). Default ['at+jwt']. */
  tokenTypes?: string[] | undefined
  /** Accept a token whose header has no typ at all (Cognito, many IdPs). Default false. */
  allowMissingTokenType?: boolean | undefined
  /** Claims that must be present. Default ['sub', 'jti', 'iat']; exp is always required (listing it is allowed). Names are non-empty strings. */
  requiredClaims?: string[] | undefined
  /** Where roles come from: a dot path ('realm_access.roles', 'cognito:groups', 'roles'), or a function for anything else (namespaced claims containing dots, several sources). Default 'roles'. */
  roles?: ClaimSource | undefined
  /** Where scopes come from: a dot path ('scope', 'scp') or a function. The value may be a space-separated string or an array of strings. Default 'scope'. */
  scopes?: ClaimSource | undefined
  /** When set, the client the token was issued to (client_id per RFC 9068, or azp; appid for Entra v1) must be one of these: every one of those claims present must be listed, and at least one must be present. */
  clientIds?: string[] | undefined
}

export interface TokenProfile {
  /** What this profile relaxes against RFC 9068, in words, for one startup log line; [] when nothing. */
  readonly relaxations: readonly string[]
  /** Whether a header typ (any JSON value, undefined when absent) is accepted. */
  acceptsTyp (typ: unknown): boolean
  /**
   * Required claims (TokenInvalidError(`${name} claim missing`)), client check
   * (TokenInvalidError('token was issued to another client') or ('client claim missing'));
   * throws, else returns a NEW plain object: the claims plus `roles` (string[] of the string
   * values found; key absent when the source gives nothing) and `scope` (one space-separated
   * string of the scopes found; absent when none). Never mutates the input. A source value of
   * the wrong shape (number, object) gives nothing, never an error and never a 500. At most
   * MAX_CLAIM_ENTRIES (256) distinct roles and scopes are kept, the first ones in token order.
   * A source function that throws is an application bug: its error propagates as is.
   */
  apply (claims: Readonly<Record<string, unknown>>): Record<string, unknown>
}

const PROFILE_OPTIONS: KnownKeys<TokenProfileOptions> = {
  tokenTypes: true,
  allowMissingTokenType: true,
  requiredClaims: true,
  roles: true,
  scopes: true,
  clientIds: true
}
const PROFILE_OPTION_NAMES = optionNames(PROFILE_OPTIONS)

/** RFC 9068 §2.2 claims this package requires by default; exp is required by every profile. */
const DEFAULT_REQUIRED_CLAIMS: readonly string[] = ['sub', 'jti', 'iat']
const ALWAYS_REQUIRED = 'exp'

/** The claims that name the client a token was issued to: RFC 9068 §2.2, OpenID Connect, Entra ID v1. */
const CLIENT_CLAIMS = ['client_id', 'azp', 'appid'] as const

function stringList (value: unknown, name: string, allowEmpty: boolean): string[] {
  const ok = Array.isArray(value) && (allowEmpty || value.length > 0) && value.every((entry) => typeof entry === 'string' && entry !== '')
  if (!ok) throw new InvalidOptionError(`${name} must be ${allowEmpty ? 'an' : 'a non-empty'} array of non-empty strings; got ${shownValue(value)}`)
  return [...new Set(value as string[])]
}

/** typ as typMatches expects it: lower case, without the optional `application/` prefix. */
function bareTyp (typ: string, name: string): string {
  const bare = typ.toLowerCase().replace(/^application\//, '')
  if (bare === '') throw new InvalidOptionError(`${name} must not hold an empty media type; got ${shownValue(typ)}`)
  return bare
}

/** A claim that is absent, or null, does not satisfy a requirement. */
function isPresent (claims: Readonly<Record<string, unknown>>, name: string): boolean {
  return Object.hasOwn(claims, name) && claims[name] !== undefined && claims[name] !== null
}

function clientCheck (allowed: readonly string[]): (claims: Readonly<Record<string, unknown>>) => void {
  return (claims) => {
    let named = false
    for (const claim of CLIENT_CLAIMS) {
      if (!Object.hasOwn(claims, claim)) continue
      named = true
      // A null or non-string client claim is present and names no listed client: refused.
      const client = claims[claim]
      if (typeof client !== 'string' || !allowed.includes(client)) throw new TokenInvalidError('token was issued to another client')
    }
    if (!named) throw new TokenInvalidError('client claim missing')
  }
}

/**
 * Checks and compiles one issuer's profile at startup; `name` is where the options sit
 * ('issuers[0].profile'), for error messages. The result is frozen.
 */
export function resolveTokenProfile (options: unknown, name: string): TokenProfile {
  refuseUnknownKeys(options, PROFILE_OPTION_NAMES, { path: name })
  const values = options as TokenProfileOptions
  const relaxations: string[] = []

  const written = values.tokenTypes === undefined ? [ACCESS_TOKEN_TYP] : stringList(values.tokenTypes, `${name}.tokenTypes`, false)
  const tokenTypes: string[] = []
  for (const typ of written) {
    const bare = bareTyp(typ, `${name}.tokenTypes`)
    if (tokenTypes.includes(bare)) continue
    tokenTypes.push(bare)
    if (bare !== ACCESS_TOKEN_TYP) relaxations.push(`typ ${JSON.stringify(typ)} accepted`)
  }

  const allowMissing = values.allowMissingTokenType === undefined ? false : values.allowMissingTokenType
  if (typeof allowMissing !== 'boolean') throw new InvalidOptionError(`${name}.allowMissingTokenType must be true or false; got ${shownValue(allowMissing)}`)
  if (allowMissing) relaxations.push('tokens without typ accepted')

  const listed = values.requiredClaims === undefined ? DEFAULT_REQUIRED_CLAIMS : stringList(values.requiredClaims, `${name}.requiredClaims`, true)
  const required = Object.freeze([ALWAYS_REQUIRED, ...listed.filter((claim) => claim !== ALWAYS_REQUIRED)])
  for (const claim of DEFAULT_REQUIRED_CLAIMS) if (!required.includes(claim)) relaxations.push(`${claim} not required`)

  const readRoles = claimReader(values.roles === undefined ? 'roles' : values.roles, `${name}.roles`)
  const readScopes = claimReader(values.scopes === undefined ? 'scope' : values.scopes, `${name}.scopes`)
  const checkClient = values.clientIds === undefined ? undefined : clientCheck(Object.freeze(stringList(values.clientIds, `${name}.clientIds`, false)))

  return Object.freeze({
    relaxations: Object.freeze(relaxations),
    acceptsTyp (typ: unknown): boolean {
      if (typ === undefined) return allowMissing
      return tokenTypes.some((expected) => typMatches(typ, expected))
    },
    apply (claims: Readonly<Record<string, unknown>>): Record<string, unknown> {
      for (const claim of required) if (!isPresent(claims, claim)) throw new TokenInvalidError(`${claim} claim missing`)
      checkClient?.(claims)
      const roles = rolesFrom(readRoles(claims))
      const scopes = scopesFrom(readScopes(claims))
      // The issuer's own `roles` and `scope` claims are replaced, not kept beside: guards
      // read only what the profile found, in the shape they expect.
      const { roles: _roles, scope: _scope, ...result }: Record<string, unknown> = claims
      if (roles.length > 0) result.roles = roles
      if (scopes.length > 0) result.scope = scopes.join(' ')
      return result
    }
  })
}
