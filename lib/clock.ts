/** Where the core reads the time: one injected clock, so tests move time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now: () => number
}

/** The real clock: the one place that reads the system time. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() })

/** Seconds since the epoch, as the store and the token claims count them. */
export function nowSeconds (clock: Clock): number {
  return clock.now() / 1000
}
