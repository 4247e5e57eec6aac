import type { PruneResult, UserStore } from '../stores/user-store.js'

/** Failure counters idle this long are gone; throttle windows and lockouts are capped below it. */
export const LOGIN_FAILURE_RETENTION_SECONDS = 86400

export interface HousekeepingOptions {
  store: UserStore
  intervalMs: number
  onPruned: (result: PruneResult) => void
  onError: (error: unknown) => void
}

/**
 * Deletes expired refresh tokens, revocations and stale login-failure counters on a
 * timer, so nobody has to write a cron job. Each instance prunes on its own jittered
 * schedule; deleting what another instance already deleted is harmless.
 */
export class Housekeeping {
  readonly #options: HousekeepingOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false

  constructor (options: HousekeepingOptions) {
    this.#options = options
  }

  async pruneOnce (): Promise<void> {
    const now = Date.now() / 1000
    try {
      this.#options.onPruned(await this.#options.store.pruneExpired(now, now - LOGIN_FAILURE_RETENTION_SECONDS))
    } catch (error) {
      this.#options.onError(error)
    }
  }

  start (): void {
    if (this.#stopped) return
    // ±20% jitter keeps instances that started together from pruning in lockstep.
    const delay = this.#options.intervalMs * (0.8 + Math.random() * 0.4)
    this.#timer = setTimeout(() => {
      this.#running = this.pruneOnce().then(() => this.start())
    }, delay)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }
}
