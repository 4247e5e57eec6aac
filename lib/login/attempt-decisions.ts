import type { AttemptCounter, AttemptWrite } from '../store/ports.js'
import type { ThrottlePolicy } from './throttle-policy.js'

/** A throttling key and the attempts it may have in a window. */
export interface KeyLimit {
  key: string
  limit: number
}

/** What one attempt wrote to a key's counter. */
interface Counted {
  count: number
  windowStartedAt: number
  lockedUntil: number
  previousLockedUntil: number
}

/** What one attempt counted, so that a success can take back exactly that. */
export interface Reservation {
  readonly keys: readonly string[]
  readonly counted: ReadonlyMap<string, Counted>
}

export type ReservationResult = { reserved: true, reservation: Reservation } | { reserved: false, retryAfter: number }

// Pure functions for LoginAttemptPort.update: the store may call them more than once.

function lockoutSeconds (policy: ThrottlePolicy, excess: number): number {
  return Math.min(policy.lockoutSeconds * 2 ** excess, policy.maxLockoutSeconds)
}

/**
 * Counts one attempt on a key. A window starts at the first attempt, and a lockout
 * stretches it to `window` after the lockout ends, so that a key at its limit keeps
 * doubling instead of starting afresh right after each lockout.
 */
function countAttempt (counter: AttemptCounter | undefined, { key, limit }: KeyLimit, now: number, policy: ThrottlePolicy): AttemptCounter {
  const fresh = counter === undefined || now >= Math.max(counter.windowStartedAt, counter.lockedUntil) + policy.windowSeconds
  const count = fresh ? 1 : counter.count + 1
  const previousLock = fresh ? 0 : counter.lockedUntil
  return {
    key,
    count,
    windowStartedAt: fresh ? now : counter.windowStartedAt,
    // Reaching the limit locks for `lockout`; each further attempt doubles it, up to maxLockout.
    lockedUntil: count >= limit ? Math.ceil(now + lockoutSeconds(policy, count - limit)) : previousLock,
    lastAttemptAt: now
  }
}

/**
 * Reserves one attempt on every key at once, or on none: while any key is locked the
 * attempt is refused, counts nothing, and learns how long to wait. `now` in whole seconds.
 */
export function reserveAttempt (limits: readonly KeyLimit[], now: number, policy: ThrottlePolicy) {
  return (current: ReadonlyMap<string, AttemptCounter>): AttemptWrite<ReservationResult> => {
    const lockedUntil = Math.max(0, ...limits.map(({ key }) => current.get(key)?.lockedUntil ?? 0))
    if (lockedUntil > now) return { write: [], result: { reserved: false, retryAfter: lockedUntil - now } }
    const write = limits.map((limit) => countAttempt(current.get(limit.key), limit, now, policy))
    const counted = new Map(write.map(({ key, count, windowStartedAt, lockedUntil }) => {
      return [key, { count, windowStartedAt, lockedUntil, previousLockedUntil: current.get(key)?.lockedUntil ?? 0 }]
    }))
    return { write, result: { reserved: true, reservation: { keys: limits.map(({ key }) => key), counted } } }
  }
}

/**
 * Takes back a successful attempt's own count, and only it: a key whose window has
 * restarted since is left alone, other attempts' failures stay counted, and a lock this
 * attempt set is lifted only while no later attempt has been counted.
 */
export function releaseAttempt ({ keys, counted }: Reservation) {
  return (current: ReadonlyMap<string, AttemptCounter>): AttemptWrite<void> => {
    const write: AttemptCounter[] = []
    for (const key of keys) {
      const counter = current.get(key)
      const mine = counted.get(key) as Counted
      if (counter === undefined || counter.windowStartedAt !== mine.windowStartedAt || counter.count < 1) continue
      const lastCounted = counter.count === mine.count && counter.lockedUntil === mine.lockedUntil
      const lockedUntil = lastCounted ? mine.previousLockedUntil : counter.lockedUntil
      write.push({ ...counter, count: counter.count - 1, lockedUntil })
    }
    return { write, result: undefined }
  }
}
