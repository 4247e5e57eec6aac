import type { Revocation, RevocationKind } from '../store/ports.js'
import { ExpiryQueue } from './expiry-queue.js'

export type { Revocation, RevocationKind, StoredRevocation } from '../store/ports.js'

/** The claims revocation looks at. */
export interface RevocableClaims {
  sub?: string
  jti?: string
  sid?: unknown
  ver?: unknown
}

const TOKEN = 0
const SESSION = 1
const USER = 2

/**
 * In-memory view of current revocations: every lookup is a Map hit, no I/O. Beside the
 * maps, a queue ordered by expiry makes pruning cost what expires, not what is kept.
 */
export class RevocationList {
  readonly #tokens = new Map<string, number>()
  readonly #sessions = new Map<string, number>()
  readonly #users = new Map<string, { minVersion: number, expiresAt: number }>()
  readonly #expiries = new ExpiryQueue()

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
    } else {
      const map = kind === 'token' ? this.#tokens : this.#sessions
      const current = map.get(subject)
      if (current !== undefined && expiresAt <= current) return
      map.set(subject, expiresAt)
    }
    // Only a later expiry is queued; the earlier entry is skipped when it comes up.
    this.#expiries.push(expiresAt, kindCode(kind), subject)
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
    this.#expiries.popExpired(now, (kind, subject) => {
      if (kind === USER) {
        const entry = this.#users.get(subject)
        if (entry !== undefined && entry.expiresAt <= now) this.#users.delete(subject)
      } else {
        const map = kind === TOKEN ? this.#tokens : this.#sessions
        const expiresAt = map.get(subject)
        if (expiresAt !== undefined && expiresAt <= now) map.delete(subject)
      }
    })
  }
}

function kindCode (kind: RevocationKind): number {
  return kind === 'token' ? TOKEN : kind === 'session' ? SESSION : USER
}
