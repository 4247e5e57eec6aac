import { InsufficientScopeError, InvalidApiKeyRequestError, InvalidOptionError } from '../errors.js'
import { shownValue } from '../shown-value.js'

/** Who may grant a scope: the roles that may, or `true` for any user. */
export type ScopeGrant = readonly string[] | true

/** A scope as OAuth spells one (RFC 6749 §3.3: printable ASCII, no space, `"` or `\`), at most 100 characters; the route schemas share it. */
export const SCOPE_NAME_SOURCE = '^[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,100}$'
const SCOPE_NAME = new RegExp(SCOPE_NAME_SOURCE)
const MAX_CATALOGUE_SCOPES = 1000
/** Scopes one key may hold. */
export const MAX_KEY_SCOPES = 64

function checkedGrant (scope: string, grant: unknown): ScopeGrant {
  if (grant === true) return true
  if (Array.isArray(grant) && grant.length > 0 && grant.every((role) => typeof role === 'string' && role.length > 0)) return Object.freeze([...grant as string[]])
  throw new InvalidOptionError(`apiKeys.scopes['${scope}'] must be true (any user) or a non-empty array of role names; got ${shownValue(grant)}`)
}

/**
 * The application's scopes and who may grant each: what a user's roles let them put into a
 * key, and what a key can still do once the user's roles have changed (a role taken away
 * takes its scopes away from every key the user made, without revoking the keys).
 */
export class ScopeCatalogue {
  readonly #grants: ReadonlyMap<string, ScopeGrant>

  constructor (grants: ReadonlyMap<string, ScopeGrant>) {
    this.#grants = grants
  }

  get isEmpty (): boolean {
    return this.#grants.size === 0
  }

  #grantable (scope: string, roles: readonly string[]): boolean {
    const grant = this.#grants.get(scope)
    return grant === true || (grant !== undefined && grant.some((role) => roles.includes(role)))
  }

  /** Every scope these roles may grant, in the catalogue's order. */
  grantable (roles: readonly string[]): string[] {
    return [...this.#grants.keys()].filter((scope) => this.#grantable(scope, roles))
  }

  /** The scopes of a key its user's current roles still grant (the rest are kept but do nothing). */
  effective (keyScopes: readonly string[], roles: readonly string[]): string[] {
    return keyScopes.filter((scope) => this.#grantable(scope, roles))
  }

  /**
   * The scopes a user asks a new key to hold, checked: a list of at most 64 distinct catalogue
   * scopes (400 otherwise), each granted by the user's roles (403 otherwise).
   */
  checkRequested (requested: unknown, roles: readonly string[]): string[] {
    if (!Array.isArray(requested) || !requested.every((scope) => typeof scope === 'string')) throw new InvalidApiKeyRequestError('scopes must be a list of scope names')
    const scopes = requested as string[]
    if (scopes.length > MAX_KEY_SCOPES) throw new InvalidApiKeyRequestError(`a key holds at most ${MAX_KEY_SCOPES} scopes`)
    if (new Set(scopes).size !== scopes.length) throw new InvalidApiKeyRequestError('a scope is named twice')
    const unknown = scopes.find((scope) => !this.#grants.has(scope))
    // The name is the caller's own input, bounded by the schema; only a known one is echoed back.
    if (unknown !== undefined) throw new InvalidApiKeyRequestError('a scope is not one of this service\'s scopes')
    const refused = scopes.find((scope) => !this.#grantable(scope, roles))
    if (refused !== undefined) throw new InsufficientScopeError(refused)
    return [...scopes]
  }
}

/** The catalogue of the `apiKeys.scopes` option, checked: scope -> roles that may grant it, or true. */
export function scopeCatalogueFrom (scopes: unknown): ScopeCatalogue {
  if (scopes === undefined) return new ScopeCatalogue(new Map())
  if (typeof scopes !== 'object' || scopes === null || Array.isArray(scopes)) {
    throw new InvalidOptionError(`apiKeys.scopes must be an object of scope -> roles that may grant it (or true for any user); got ${shownValue(scopes)}`)
  }
  const entries = Object.entries(scopes)
  if (entries.length > MAX_CATALOGUE_SCOPES) throw new InvalidOptionError(`apiKeys.scopes holds at most ${MAX_CATALOGUE_SCOPES} scopes`)
  const grants = new Map<string, ScopeGrant>()
  for (const [scope, grant] of entries) {
    if (!SCOPE_NAME.test(scope)) throw new InvalidOptionError(`apiKeys.scopes: ${shownValue(scope)} is not a scope name (1 to 100 printable ASCII characters, no space, quote or backslash)`)
    grants.set(scope, checkedGrant(scope, grant))
  }
  return new ScopeCatalogue(grants)
}
