import type { Revocation } from '../store/ports.js'
import { ExpiryQueue } from './expiry-queue.js'

export type { Revocation, RevocationKind, StoredRevocation } from '../store/ports.js'

/** The claims revocation looks at. */
export interface RevocableClaims {
  sub?: string | undefined
  jti?: string | undefined
  sid?: unknown
  ver?: unknown
}

/** Sets the later of the two expiries; true when it is the new one, which must then be queued. */
function raiseExpiry (map: Map<string, number>, subject: string, expiresAt: number): boolean {
  const current = map.get(subject)
  if (current !== undefined && expiresAt <= current) return false
  map.set(subject, expiresAt)
  return true
}

/**
 * In-memory view of current revocations: every lookup is a Map hit, no I/O. Beside each
 * map, a queue by expiry makes pruning cost what expires, not what is kept; an entry
 * revoked again with a later expiry is queued again, and skipped at its earlier one.
 */
export class RevocationList {
  readonly #tokens = new Map<string, number>()
  readonly #sessions = new Map<string, number>()
  readonly #users = new Map<string, { minVersion: number, expiresAt: number }>()
  readonly #tokenExpiries = new ExpiryQueue()
  readonly #sessionExpiries = new ExpiryQueue()
  readonly #userExpiries = new ExpiryQueue()

  get size (): number {
    return this.#tokens.size + this.#sessions.size + this.#users.size
  }

  add (revocation: Revocation): void {
    const { kind, subject, expiresAt } = revocation
    if (kind === 'user') {
      const current = this.#users.get(subject)
      if (current === undefined) {
        this.#users.set(subject, { minVersion: revocation.version, expiresAt })
      } else {
        current.minVersion = Math.max(revocation.version, current.minVersion)
        if (expiresAt <= current.expiresAt) return
        current.expiresAt = expiresAt
      }
      this.#userExpiries.push(expiresAt, subject)
    } else if (kind === 'token') {
      if (raiseExpiry(this.#tokens, subject, expiresAt)) this.#tokenExpiries.push(expiresAt, subject)
    } else if (raiseExpiry(this.#sessions, subject, expiresAt)) {
      this.#sessionExpiries.push(expiresAt, subject)
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
    this.#tokenExpiries.popExpired(now, (jti) => { forgetExpired(this.#tokens, jti, now) })
    this.#sessionExpiries.popExpired(now, (sid) => { forgetExpired(this.#sessions, sid, now) })
    this.#userExpiries.popExpired(now, (sub) => {
      const entry = this.#users.get(sub)
      if (entry !== undefined && entry.expiresAt <= now) this.#users.delete(sub)
    })
  }
}

/** Deletes `subject` unless it was revoked again with a later expiry (or is already gone). */
function forgetExpired (map: Map<string, number>, subject: string, now: number): void {
  const expiresAt = map.get(subject)
  if (expiresAt !== undefined && expiresAt <= now) map.delete(subject)
}
