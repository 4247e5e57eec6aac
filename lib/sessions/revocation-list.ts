/**
 * What can be revoked: one access token (by `jti`), every access token of one session
 * (refresh-token family, by `sid`), or every token of a user below a token version
 * (log out everywhere, password change, disabled or deleted user).
 */
export type RevocationKind = 'token' | 'session' | 'user'

export interface Revocation {
  kind: RevocationKind
  subject: string
  /** For 'user': the lowest token version still valid. 0 otherwise. */
  version: number
  /** Seconds since the epoch after which no token it could match is still valid. */
  expiresAt: number
}

/** A revocation as stored, with the id other instances sync by. */
export interface StoredRevocation extends Revocation {
  id: number
}

/** The claims revocation looks at. */
export interface RevocableClaims {
  sub?: string
  jti?: string
  sid?: unknown
  ver?: unknown
}

/** In-memory view of current revocations: every lookup is a Map hit, no I/O. */
export class RevocationList {
  readonly #tokens = new Map<string, number>()
  readonly #sessions = new Map<string, number>()
  readonly #users = new Map<string, { minVersion: number, expiresAt: number }>()

  get size (): number {
    return this.#tokens.size + this.#sessions.size + this.#users.size
  }

  add (revocation: Revocation): void {
    const { kind, subject, expiresAt } = revocation
    if (kind === 'token') {
      this.#tokens.set(subject, Math.max(expiresAt, this.#tokens.get(subject) ?? 0))
    } else if (kind === 'session') {
      this.#sessions.set(subject, Math.max(expiresAt, this.#sessions.get(subject) ?? 0))
    } else {
      const current = this.#users.get(subject)
      this.#users.set(subject, {
        minVersion: Math.max(revocation.version, current?.minVersion ?? 0),
        expiresAt: Math.max(expiresAt, current?.expiresAt ?? 0)
      })
    }
  }

  isRevoked (claims: RevocableClaims): boolean {
    if (claims.jti !== undefined && this.#tokens.has(claims.jti)) return true
    if (typeof claims.sid === 'string' && this.#sessions.has(claims.sid)) return true
    if (claims.sub === undefined) return false
    const user = this.#users.get(claims.sub)
    // A token without a version predates versioning for that user: it is as old as can be.
    return user !== undefined && (typeof claims.ver === 'number' ? claims.ver : -1) < user.minVersion
  }

  /** Forgets revocations whose tokens have all expired; `now` in seconds. */
  prune (now: number): void {
    for (const [jti, expiresAt] of this.#tokens) if (expiresAt <= now) this.#tokens.delete(jti)
    for (const [sid, expiresAt] of this.#sessions) if (expiresAt <= now) this.#sessions.delete(sid)
    for (const [sub, entry] of this.#users) if (entry.expiresAt <= now) this.#users.delete(sub)
  }
}
