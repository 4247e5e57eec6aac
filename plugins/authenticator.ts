import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { ApiKeyIdentity } from '../lib/api-keys/api-key-identity.js'
import { InsufficientScopeError, InvalidOptionError, MfaRequiredError, TokenMissingError } from '../lib/errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../lib/options/known-keys.js'
import type { TokenVerifier } from '../lib/issuers/token-verifier.js'
import type { ApiKeyTransport } from './api-key-transport.js'
import type { AccessTokenClaims } from './claims-types.js'
import { sessionIdOf } from './csrf-check.js'
import type { PresentedToken } from './request-credentials.js'

export interface AuthenticatorParts {
  verifier: TokenVerifier<AccessTokenClaims>
  readToken: (request: FastifyRequest) => PresentedToken | undefined
  /** The CSRF check of a cookie-authenticated request, against the verified token's session. */
  checkCsrf: (request: FastifyRequest, sessionId: string) => void
  /** The request decorator that holds the verified claims: `decorators.user`, 'user' by default. */
  userName: string
  /** API keys by Bearer header; undefined when the `apiKeys` option is off. */
  apiKeys?: ApiKeyTransport | undefined
}

type ClaimsCheck = (claims: AccessTokenClaims) => void

/** What `requireRole` may be told after the role names. */
export interface RoleGuardOptions {
  /** Also require a session signed in with a second factor (as `requireMfa`). Default false. */
  mfa?: boolean | undefined
}

/** The role names, then optionally the options: `requireRole('admin', 'owner', { mfa: true })`. */
export type RoleGuardArguments = string[] | [...roles: string[], options: RoleGuardOptions]

const ROLE_GUARD_OPTIONS: KnownKeys<RoleGuardOptions> = { mfa: true }
const ROLE_GUARD_OPTION_NAMES = optionNames(ROLE_GUARD_OPTIONS)

function checkedNames (names: unknown[], what: string): string[] {
  if (names.length === 0 || !names.every((name) => typeof name === 'string' && name.length > 0 && !/\s/.test(name))) {
    throw new InvalidOptionError(`${what} needs one or more names without spaces`)
  }
  return names as string[]
}

/** Splits requireRole's arguments into the role names and the trailing options object, checked. */
function roleGuardArguments (args: readonly unknown[]): { roles: string[], mfa: boolean } {
  const last = args[args.length - 1]
  if (typeof last !== 'object' || last === null || Array.isArray(last)) return { roles: checkedNames([...args], 'requireRole'), mfa: false }
  refuseUnknownKeys(last, ROLE_GUARD_OPTION_NAMES, { owner: 'requireRole' })
  const mfa = (last as RoleGuardOptions).mfa
  if (mfa !== undefined && typeof mfa !== 'boolean') throw new InvalidOptionError('requireRole: mfa must be true or false')
  return { roles: checkedNames(args.slice(0, -1), 'requireRole'), mfa: mfa === true }
}

/**
 * 403 unless the token's session was signed in with a second factor (RFC 8176 `amr` holds
 * 'mfa'). An API key names no sign-in, so it never passes.
 */
function checkMfa (claims: AccessTokenClaims): void {
  const amr = (claims as { amr?: unknown }).amr
  if (claims.authMethod === 'api_key' || !Array.isArray(amr) || !amr.includes('mfa')) throw new MfaRequiredError()
}

export interface Authenticator {
  /**
   * Finds and verifies the request's access token (or API key), stores and returns its claims;
   * a promise only when an issuer's keys had to be fetched again (an unknown `kid`), or an
   * API key was not in the cache.
   */
  verifyRequest: (request: FastifyRequest) => AccessTokenClaims | Promise<AccessTokenClaims>
  /** The claims a hook verified on this request: what `request.user` (or its configured name) holds. */
  claimsOf: (request: FastifyRequest) => AccessTokenClaims
  authenticate: onRequestHookHandler
  requireRole: (...args: RoleGuardArguments) => onRequestHookHandler
  requireScope: (...scopes: string[]) => onRequestHookHandler
  requireMfa: onRequestHookHandler
}

/**
 * The request-side of the plugin: find the token, verify it, check CSRF against its
 * session when it came by cookie, set `request.user` (or the name configured in
 * `decorators.user`). A Bearer value with the API-key prefix is an API key instead, never
 * parsed as a JWT. Hooks use the callback style: no promise per request.
 */
export function createAuthenticator ({ verifier, readToken, checkCsrf, userName, apiKeys }: AuthenticatorParts): Authenticator {
  // The request decorator is named at registration, so the request is reached by that name.
  const holderOf = (request: FastifyRequest): Record<string, AccessTokenClaims> => request as unknown as Record<string, AccessTokenClaims>
  const claimsOf = (request: FastifyRequest): AccessTokenClaims => holderOf(request)[userName]

  function accept (request: FastifyRequest, presented: PresentedToken, claims: AccessTokenClaims): AccessTokenClaims {
    if (presented.source === 'cookie') checkCsrf(request, sessionIdOf(claims))
    holderOf(request)[userName] = claims
    return claims
  }

  /** A key's identity, typed as the claims `request.user` holds (with `authMethod: 'api_key'`). */
  function acceptKey (request: FastifyRequest, identity: ApiKeyIdentity): AccessTokenClaims {
    holderOf(request)[userName] = identity as AccessTokenClaims
    return identity as AccessTokenClaims
  }

  function verifyApiKey (request: FastifyRequest, presented: PresentedToken, transport: ApiKeyTransport): AccessTokenClaims | Promise<AccessTokenClaims> {
    const identity = transport.authenticate(request, presented)
    // Only a key looked up (not cached) costs a closure and a promise.
    if (identity instanceof Promise) return identity.then((found) => acceptKey(request, found))
    return acceptKey(request, identity)
  }

  function verifyRequest (request: FastifyRequest): AccessTokenClaims | Promise<AccessTokenClaims> {
    const presented = readToken(request)
    if (presented === undefined) throw new TokenMissingError()
    if (apiKeys !== undefined && apiKeys.isApiKey(presented.token)) return verifyApiKey(request, presented, apiKeys)
    const verified = verifier.verify(presented.token)
    if (verified instanceof Promise) return verified.then((claims) => accept(request, presented, claims))
    return accept(request, presented, verified)
  }

  function guard (check: ClaimsCheck): onRequestHookHandler {
    return function (request, _reply, done) {
      // done(undefined) is success to Fastify: a falsy or non-Error thrown by an application's
      // claim function must fail the request (500), never let it through unauthenticated.
      const fail = (error: unknown): void => { done(error instanceof Error ? error : new Error(`token verification failed with a non-Error: ${String(error)}`)) }
      try {
        // The claims are null until a hook verified the token; then there is no need to again.
        const verified = claimsOf(request) ?? verifyRequest(request)
        if (verified instanceof Promise) {
          verified.then(check).then(() => { done() }, fail)
          return
        }
        check(verified)
        done()
      } catch (error) {
        fail(error)
      }
    }
  }

  return {
    verifyRequest,
    claimsOf,
    authenticate: guard(() => {}),
    requireRole (...args) {
      const { roles: wanted, mfa } = roleGuardArguments(args)
      return guard((claims) => {
        const held = (claims as { roles?: unknown }).roles
        if (!Array.isArray(held) || !wanted.some((role) => held.includes(role))) {
          throw new InsufficientScopeError(`the role ${wanted.join(' or ')}`)
        }
        if (mfa) checkMfa(claims)
      })
    },
    requireMfa: guard(checkMfa),
    requireScope (...scopes) {
      const wanted = checkedNames(scopes, 'requireScope')
      return guard((claims) => {
        const scope = (claims as { scope?: unknown }).scope
        const granted = typeof scope === 'string' ? scope.split(' ') : []
        if (!wanted.every((name) => granted.includes(name))) throw new InsufficientScopeError(`the scope ${wanted.join(' ')}`)
      })
    }
  }
}
