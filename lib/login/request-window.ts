import type { AttemptCounter, AttemptWrite, LoginAttemptPort } from '../store/ports.js'

/** A key's allowance: at most `limit` counted requests per window of `windowSeconds`. */
export interface WindowLimit {
  key: string
  limit: number
  windowSeconds: number
}

/** Where a key's counter stood once a request was counted, so that a success can take exactly it back. */
export interface CountedRequest {
  key: string
  windowStartedAt: number
}

export type WindowDecision = { allowed: true, counted: CountedRequest } | { allowed: false, retryAfter: number }

// Pure functions for LoginAttemptPort.update: the store may call them more than once.

function isFresh (counter: AttemptCounter | undefined, windowSeconds: number, now: number): counter is undefined {
  return counter === undefined || now >= counter.windowStartedAt + windowSeconds
}

/** Counts one request on `limit.key` in a fixed window that starts at its first request. */
function counted (counter: AttemptCounter | undefined, { key, windowSeconds }: WindowLimit, now: number): AttemptCounter {
  return isFresh(counter, windowSeconds, now)
    ? { key, count: 1, windowStartedAt: now, lockedUntil: 0, lastAttemptAt: now }
    : { ...counter, count: counter.count + 1, lastAttemptAt: now }
}

/** How a key at its limit is decided: the seconds until its window ends, or undefined while it has room. */
function waitOf (counter: AttemptCounter | undefined, { limit, windowSeconds }: WindowLimit, now: number): number | undefined {
  if (isFresh(counter, windowSeconds, now) || counter.count < limit) return undefined
  return counter.windowStartedAt + windowSeconds - now
}

/**
 * Counts one request on a key, or refuses it (counting nothing) while the key has used its
 * window's allowance. `now` in whole seconds.
 */
export function countRequest (limit: WindowLimit, now: number) {
  return (current: ReadonlyMap<string, AttemptCounter>): AttemptWrite<WindowDecision> => {
    const counter = current.get(limit.key)
    const wait = waitOf(counter, limit, now)
    if (wait !== undefined) return { write: [], result: { allowed: false, retryAfter: wait } }
    const write = counted(counter, limit, now)
    return { write: [write], result: { allowed: true, counted: { key: limit.key, windowStartedAt: write.windowStartedAt } } }
  }
}

/**
 * One mail request, in one atomic step: refused (nothing counted) while the client address
 * has used its allowance; otherwise counted there, and counted on the recipient too while
 * the recipient has room. `send` says whether the mail may go.
 */
export function countMailRequest (address: WindowLimit, recipient: WindowLimit, now: number) {
  return (current: ReadonlyMap<string, AttemptCounter>): AttemptWrite<{ allowed: false, retryAfter: number } | { allowed: true, send: boolean }> => {
    const addressWait = waitOf(current.get(address.key), address, now)
    if (addressWait !== undefined) return { write: [], result: { allowed: false, retryAfter: addressWait } }
    const write = [counted(current.get(address.key), address, now)]
    const send = waitOf(current.get(recipient.key), recipient, now) === undefined
    if (send) write.push(counted(current.get(recipient.key), recipient, now))
    return { write, result: { allowed: true, send } }
  }
}

/** Takes back one counted request, unless its window has ended since. */
export function uncountRequest ({ key, windowStartedAt }: CountedRequest) {
  return (current: ReadonlyMap<string, AttemptCounter>): AttemptWrite<void> => {
    const counter = current.get(key)
    if (counter === undefined || counter.windowStartedAt !== windowStartedAt || counter.count < 1) return { write: [], result: undefined }
    return { write: [{ ...counter, count: counter.count - 1 }], result: undefined }
  }
}

/** A request counted ahead of its outcome: a success takes it back. */
export type Reservation = { allowed: true, takeBack: () => Promise<void> } | { allowed: false, retryAfter: number }

/**
 * Counts one request on `limit.key` before the work it guards (so that concurrent requests all
 * count), or refuses it past the allowance; a success then takes back exactly that count.
 */
export async function reserveRequest (attempts: LoginAttemptPort, limit: WindowLimit, now: number): Promise<Reservation> {
  const decision = await attempts.update([limit.key], countRequest(limit, now))
  if (!decision.allowed) return decision
  return { allowed: true, takeBack: async () => { await attempts.update([limit.key], uncountRequest(decision.counted)) } }
}
