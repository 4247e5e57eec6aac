import { TokenExpiredError, TokenInvalidError } from '../errors.js'

/** Registered claims (RFC 7519 §4.1) as they appear in a verified token. */
export interface RegisteredClaims {
  iss?: string | undefined
  sub?: string | undefined
  aud?: string | string[] | undefined
  exp: number
  nbf?: number | undefined
  iat?: number | undefined
  jti?: string | undefined
}

export type JwtClaims = RegisteredClaims & Record<string, unknown>

/** What a verified token must satisfy beyond its signature. */
export interface ClaimsPolicy {
  issuer: string | undefined
  audience: readonly string[] | undefined
  clockToleranceSeconds: number
  /** Claims that must be present (exp always is). */
  required: readonly ('sub' | 'jti' | 'iat')[]
}

function isFiniteNumber (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isNonEmptyString (value: unknown): value is string {
  return typeof value === 'string' && value.length > 0
}

function checkAudience (aud: unknown, expected: readonly string[] | undefined): void {
  if (aud === undefined) {
    if (expected !== undefined) throw new TokenInvalidError('aud claim missing')
    return
  }
  const audiences = typeof aud === 'string' ? [aud] : aud
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every(isNonEmptyString)) {
    throw new TokenInvalidError('aud claim is not a string or an array of strings')
  }
  if (expected !== undefined && !audiences.some((value) => expected.includes(value))) {
    throw new TokenInvalidError('wrong audience')
  }
}

/** Checks the claims of a token whose signature is already verified; `now` in seconds. */
export function checkClaims (claims: Record<string, unknown>, policy: ClaimsPolicy, now: number): asserts claims is JwtClaims {
  const tolerance = policy.clockToleranceSeconds
  const { exp, nbf, iat, iss } = claims
  if (!isFiniteNumber(exp)) throw new TokenInvalidError('exp claim missing or not a number')
  if (now >= exp + tolerance) throw new TokenExpiredError()
  if (nbf !== undefined) {
    if (!isFiniteNumber(nbf)) throw new TokenInvalidError('nbf claim is not a number')
    if (nbf > now + tolerance) throw new TokenInvalidError('token is not valid yet')
  }
  if (iat !== undefined) {
    if (!isFiniteNumber(iat)) throw new TokenInvalidError('iat claim is not a number')
    if (iat > now + tolerance) throw new TokenInvalidError('token was issued in the future')
  }
  if (iss !== undefined && typeof iss !== 'string') throw new TokenInvalidError('iss claim is not a string')
  if (policy.issuer !== undefined && iss !== policy.issuer) throw new TokenInvalidError('wrong issuer')
  checkAudience(claims.aud, policy.audience)
  for (const name of ['sub', 'jti'] as const) {
    if (claims[name] !== undefined && !isNonEmptyString(claims[name])) throw new TokenInvalidError(`${name} claim is not a non-empty string`)
  }
  for (const name of policy.required) {
    if (claims[name] === undefined) throw new TokenInvalidError(`${name} claim missing`)
  }
}
