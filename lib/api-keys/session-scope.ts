import type { UserRecord } from '../store/ports.js'
import type { ScopeCatalogue } from './scope-catalogue.js'

export type ClaimsForUser = (user: UserRecord) => Record<string, unknown>

/**
 * The application's claims for session access tokens, with `scope`: every catalogue scope the
 * user's roles grant, so that a route guarded by `requireScope` admits a signed-in user and an
 * API key alike. A `scope` the application's claims() sets is its own and left alone; with no
 * catalogue, or no scope granted, nothing is added.
 */
export function withGrantedScope (claims: ClaimsForUser, catalogue: ScopeCatalogue | undefined): ClaimsForUser {
  if (catalogue === undefined || catalogue.isEmpty) return claims
  return (user) => {
    const own = claims(user)
    if (own.scope !== undefined) return own
    const granted = catalogue.grantable(user.roles)
    return granted.length === 0 ? own : { ...own, scope: granted.join(' ') }
  }
}
