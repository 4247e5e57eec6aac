import type { Clock } from '../clock.js'
import { SigningKeysUnavailableError, withRetryAfter } from '../errors.js'
import type { Algorithm } from '../tokens/algorithms.js'
import type { RingKey } from '../tokens/key-ring.js'
import { cacheLifetimeMs } from './cache-lifetime.js'
import { fetchJson } from './fetch-json.js'
import { keysFromJwks } from './jwks-keys.js'

export interface KeySetLogger {
  warn: (details: object, message: string) => void
  error: (details: object, message: string) => void
  info: (message: string) => void
}

export interface RemoteKeySetOptions {
  /** Already checked by checkRemoteUrl. */
  url: URL
  /** For messages and logs, e.g. the issuer. */
  name: string
  /** Asymmetric algorithms accepted from this issuer. */
  algorithms: readonly Algorithm[]
  /** The whole fetch. */
  timeoutMs: number
  /** At most one fetch triggered by unknown kids (or retries) per cooldown. */
  cooldownMs: number
  /** Floor of the cache lifetime taken from HTTP headers. */
  minAgeMs: number
  /** Cap of the cache lifetime. */
  maxAgeMs: number
  /** Lifetime when the response has no caching headers (capped by maxAgeMs). */
  defaultAgeMs: number
  /** After freshness ends and refreshing fails, keys are still used this long; past it, 503. */
  staleWindowMs: number
  /** Response size limit. */
  maxBytes: number
  /** A document with more keys than this is refused. */
  maxKeys: number
  clock: Clock
  log: KeySetLogger
}

export type KeyLookup = RingKey | undefined | Promise<RingKey | undefined>

// setTimeout's largest delay; a longer one would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The signing keys an issuer publishes at a JWKS URL, for verifying its tokens. Lookups
 * never wait for the network when the key is known; an unknown kid (a rotation) triggers
 * at most one fetch per cooldown, shared by every request that wants it, so a flood of
 * made-up kids costs the issuer one request per cooldown.
 */
export class RemoteKeySet {
  readonly #options: RemoteKeySetOptions
  /** undefined until a fetch succeeds. */
  #keys: Map<string, RingKey> | undefined
  #onlyKey: RingKey | undefined
  #freshUntil = -Infinity
  #lastFetchStart = -Infinity
  #inFlight: Promise<void> | undefined
  #failing = false
  #fetchCount = 0
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  readonly #abort = new AbortController()

  constructor (options: RemoteKeySetOptions) {
    this.#options = options
  }

  /** Fetches started, for tests and the bench. */
  get fetchCount (): number {
    return this.#fetchCount
  }

  /**
   * The key for a token's kid (or the only key when the token names none). Synchronous
   * unless the kid is unknown and a fetch may bring it. Throws a 503 error when the
   * keys were never fetched or are too old to trust.
   */
  lookup (kid: string | undefined): KeyLookup {
    const now = this.#options.clock.now()
    const keys = this.#usableKeys(now)
    if (keys === undefined) {
      this.#fetchIfAllowed(now)
      throw this.#unavailable(now)
    }
    if (now >= this.#freshUntil) this.#fetchIfAllowed(now)
    if (kid === undefined) return this.#onlyKey
    const key = keys.get(kid)
    if (key !== undefined) return key
    if (this.#inFlight === undefined && !this.#fetchIfAllowed(now)) return undefined
    return this.#afterFetch(this.#inFlight as Promise<void>, kid)
  }

  /** Fetches the keys once; resolves (never rejects) when that fetch ends, in at most timeoutMs. */
  async start (): Promise<void> {
    if (this.#stopped) return
    if (this.#inFlight === undefined) this.#fetch()
    await this.#inFlight
  }

  /** Clears timers and abandons a fetch under way. */
  async stop (): Promise<void> {
    this.#stopped = true
    this.#abort.abort()
    await this.#inFlight
    // After the fetch ends: one that succeeded just as we stopped has scheduled its refresh.
    clearTimeout(this.#timer)
  }

  #usableKeys (now: number): Map<string, RingKey> | undefined {
    return now < this.#freshUntil + this.#options.staleWindowMs ? this.#keys : undefined
  }

  #unavailable (now: number): Error {
    return withRetryAfter(new SigningKeysUnavailableError(), (this.#lastFetchStart + this.#options.cooldownMs - now) / 1000)
  }

  async #afterFetch (fetching: Promise<void>, kid: string): Promise<RingKey | undefined> {
    await fetching
    const now = this.#options.clock.now()
    const keys = this.#usableKeys(now)
    if (keys === undefined) throw this.#unavailable(now)
    return keys.get(kid)
  }

  /** Starts a fetch unless one is under way or the cooldown since the last one has not passed. */
  #fetchIfAllowed (now: number): boolean {
    if (this.#stopped || this.#inFlight !== undefined || now < this.#lastFetchStart + this.#options.cooldownMs) return false
    this.#fetch()
    return true
  }

  #fetch (): void {
    clearTimeout(this.#timer)
    this.#fetchCount++
    this.#lastFetchStart = this.#options.clock.now()
    this.#inFlight = this.#refresh().finally(() => { this.#inFlight = undefined })
  }

  #schedule (delayMs: number): void {
    // Every fetch clears this timer first, so when it fires none is under way.
    this.#timer = setTimeout(() => { this.#fetch() }, Math.min(MAX_TIMER_MS, Math.max(0, delayMs)))
    // A key set waiting to refresh must not keep the process alive.
    this.#timer.unref()
  }

  async #refresh (): Promise<void> {
    const { url, name, clock, log } = this.#options
    try {
      const { body, headers, receivedAt } = await fetchJson(url, { timeoutMs: this.#options.timeoutMs, maxBytes: this.#options.maxBytes, signal: this.#abort.signal, clock })
      const { keys, skipped } = keysFromJwks(body, this.#options)
      // The whole set is replaced: a key the issuer removed stops verifying at once.
      this.#keys = new Map(keys.map((key) => [key.kid, key]))
      this.#onlyKey = keys.length === 1 ? keys[0] : undefined
      this.#freshUntil = receivedAt + cacheLifetimeMs(headers, receivedAt, this.#options)
      if (skipped.length > 0) log.warn({ issuer: name, skipped }, `some signing keys published by ${name} were skipped`)
      if (keys.length === 0) log.warn({ issuer: name }, `${name} publishes no usable signing key`)
      if (this.#failing) log.info(`the signing keys of ${name} can be fetched again`)
      this.#failing = false
      // Never sooner than the cooldown, even when the issuer says its keys expire at once.
      this.#schedule(Math.max(this.#freshUntil, this.#lastFetchStart + this.#options.cooldownMs) - clock.now())
    } catch (error) {
      if (this.#stopped) return
      if (!this.#failing) log.error({ issuer: name, reason: (error as Error).message }, `the signing keys of ${name} cannot be fetched`)
      this.#failing = true
      this.#schedule(this.#options.cooldownMs)
    }
  }
}
