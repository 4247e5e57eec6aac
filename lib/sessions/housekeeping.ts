import { type Clock, nowSeconds } from '../clock.js'
import { MAX_THROTTLE_SECONDS } from '../login/throttle-policy.js'
import type { AuthStore } from '../store/ports.js'

export interface PruneResult {
  families: number
  revocations: number
  accountTokens: number
  attempts: number
  apiKeys: number
  challenges: number
}

export interface HousekeepingOptions {
  store: AuthStore
  clock: Clock
  intervalMs: number
  onPruned: (result: PruneResult) => void
  onError: (error: unknown) => void
}

/**
 * Deletes expired refresh-token families and tokens, revocations, idle attempt counters
 * revoked or expired API keys, and expired challenges (second login steps, WebAuthn) on a timer, so nobody has to write a cron job. Each
 * instance prunes on its own jittered schedule; deleting what another instance already
 * deleted is harmless.
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
    const { store, clock } = this.#options
    const now = nowSeconds(clock)
    try {
      this.#options.onPruned({
        families: await store.families.prune(now),
        revocations: await store.revocations.prune(now),
        accountTokens: await store.accountTokens.prune(now),
        // Throttle windows and lockouts are capped at this: a counter idle longer counts for nothing.
        attempts: await store.attempts.prune(now - MAX_THROTTLE_SECONDS),
        apiKeys: await store.apiKeys.prune(now),
        challenges: await store.challenges.prune(now)
      })
    } catch (error) {
      this.#options.onError(error)
    }
  }

  start (): void {
    if (this.#stopped) return
    // ±20% jitter keeps instances that started together from pruning in lockstep.
    const delay = this.#options.intervalMs * (0.8 + Math.random() * 0.4)
    this.#timer = setTimeout(() => {
      this.#running = this.pruneOnce().then(() => { this.start() })
    }, delay)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }
}
