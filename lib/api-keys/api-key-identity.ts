import { deepFreeze } from '../tokens/deep-freeze.js'
import type { ApiKeyRecord, UserRecord } from '../store/ports.js'
import type { ScopeCatalogue } from './scope-catalogue.js'
import type { ClaimsForUser } from './session-scope.js'

/**
 * Who a request with an API key acts for (its `request.user`): the user's id, the application's
 * claims for the user as they are now (`roles` by default), the key's scopes the user's roles
 * still grant, and the key itself. `jti` names the key, as it names an access token, so one
 * revocation list serves both.
 */
export interface ApiKeyIdentity {
  readonly sub: string
  /** The key's effective scopes, space-separated; absent when it has none left. */
  readonly scope?: string
  readonly authMethod: 'api_key'
  readonly keyId: string
  readonly jti: string
  /** When the key was created (seconds). */
  readonly iat: number
  /** When the key expires (seconds); absent when it never does. */
  readonly exp?: number
  readonly [claim: string]: unknown
}

const KEY_CLAIMS = ['sub', 'scope', 'authMethod', 'keyId', 'jti', 'iat', 'exp'] as const

/** The frozen identity of a key of `user`: the same object is handed to every request until it is looked up again. */
export function apiKeyIdentity (key: ApiKeyRecord, user: UserRecord, claims: ClaimsForUser, catalogue: ScopeCatalogue): ApiKeyIdentity {
  // Through JSON, as into an access token: the same claims either way, and none of the application's objects frozen.
  const application = JSON.parse(JSON.stringify(claims(user))) as Record<string, unknown>
  // The key's own facts win over same-named application claims: a key grants what it holds, never
  // the scope the application (or the session default) gives the user, and never outlives its exp.
  for (const name of KEY_CLAIMS) delete application[name]
  const scopes = catalogue.effective(key.scopes, user.roles)
  return deepFreeze({
    sub: user.id,
    ...application,
    ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    authMethod: 'api_key' as const,
    keyId: key.id,
    jti: key.id,
    iat: key.createdAt,
    ...(key.expiresAt === null ? {} : { exp: key.expiresAt })
  })
}
