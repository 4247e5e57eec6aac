import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { toSeconds, type Duration } from '../../duration.js'
import { InvalidOptionError } from '../../errors.js'
import { MAX_THROTTLE_SECONDS } from '../../login/throttle-policy.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../../options/known-keys.js'
import { guarded } from '../knex/store-errors.js'
import type { AttemptCounter, AttemptWrite, LoginAttemptPort } from '../ports.js'
import { Deadline } from './deadline.js'
import { LocalKeyQueue } from './local-key-queue.js'
import { COMPARE_AND_SET, PRUNE_IDLE, type RedisCommands } from './redis-scripts.js'

export interface RedisAttemptsOptions {
  /** An ioredis client (or anything with its mget, zrangebyscore, evalsha and eval). Closing it stays the application's job. */
  redis: RedisCommands
  /** Put before every key this port writes, so that several applications can share one Redis. Default 'fta:attempts:'. */
  keyPrefix?: string | undefined
  /** How long one update or one step of a prune may wait for Redis before it fails with a 503, and how long one prune goes on. Default '2s'. */
  timeout?: Duration | undefined
}

const OPTIONS: KnownKeys<RedisAttemptsOptions> = { redis: true, keyPrefix: true, timeout: true }
const OPTION_NAMES = optionNames(OPTIONS)

// Bounds the retries when other instances keep winning the race for a key; the deadline bounds their time.
const MAX_ROUNDS = 32
const PRUNE_BATCH = 500
// An update that lost this many races in a row claims its counters (see COMPARE_AND_SET).
const CLAIM_AFTER_ROUNDS = 2

/** One update's tries: its deadline, its claim token, which try this is, whether it may hold claims. */
interface Turn {
  deadline: Deadline
  token: string
  round: number
  claimed: boolean
}

/** A counter as stored: its fields in a fixed order, so that equal counters are equal strings. */
const encode = (counter: AttemptCounter): string => JSON.stringify([counter.count, counter.windowStartedAt, counter.lockedUntil, counter.lastAttemptAt])

function decode (key: string, value: string): AttemptCounter {
  const [count, windowStartedAt, lockedUntil, lastAttemptAt] = JSON.parse(value) as number[]
  return { key, count, windowStartedAt, lockedUntil, lastAttemptAt }
}

function checkClient (redis: unknown): RedisCommands {
  const methods = ['mget', 'zrangebyscore', 'evalsha', 'eval']
  if (typeof redis !== 'object' || redis === null || !methods.every((name) => typeof (redis as Record<string, unknown>)[name] === 'function')) {
    throw new InvalidOptionError('createRedisAttempts: redis must be an ioredis client (new Redis(url))')
  }
  return redis as RedisCommands
}

/**
 * The throttling counters (LoginAttemptPort) in Redis, for deployments whose SQL
 * database should not take a write per failed login. Compose it with another store:
 * `{ ...createKnexStore({ knex }), attempts: createRedisAttempts({ redis }) }`.
 *
 * An update reads its counters (MGET), runs `decide`, and writes with a script that
 * applies the writes only if the counters still hold what was read, else reads again
 * (optimistic concurrency over one shared connection: no WATCH, so no connection per
 * update). A lost race answers the values found, so the retry decides at once; an
 * update that keeps losing claims its counters for its next try (no starvation behind a
 * busy instance). Updates of one key in this process wait for each other, so only other
 * instances make an update retry. Every failure to reach Redis in time is a 503.
 *
 * Each counter expires by itself a day (the longest throttling window) after its last
 * write, as the core's own prune would delete it; prune() also deletes idle counters on
 * time, through an index of lastAttemptAt, and keeps that index small.
 *
 * Only the counters: a revocation must commit in the same SQL transaction as the change
 * that causes it (a logout, a disable), which a second system cannot join.
 *
 * Redis Cluster: every key of one update must live on one node, so give a prefix with a
 * hash tag, such as '{fta-attempts}:' (all counters then live on one shard).
 */
export function createRedisAttempts (options: RedisAttemptsOptions): LoginAttemptPort {
  refuseUnknownKeys(options, OPTION_NAMES, { owner: 'createRedisAttempts' })
  const redis = checkClient(options.redis)
  const prefix = options.keyPrefix ?? 'fta:attempts:'
  if (typeof prefix !== 'string') throw new InvalidOptionError('createRedisAttempts: keyPrefix must be a string')
  const timeoutMs = Math.round(toSeconds(options.timeout ?? '2s', 'createRedisAttempts: timeout', 0.001, 60) * 1000)
  const index = `${prefix}idle`
  const counterKey = (key: string): string => `${prefix}counter:${key}`
  const claimKey = (key: string): string => `${prefix}claim:${key}`
  const queue = new LocalKeyQueue()

  /** One decision on the values `read` and its compare-and-set: the result, or the values found instead. */
  async function tryOnce<T> (keys: readonly string[], read: ReadonlyArray<string | null>, decide: (current: ReadonlyMap<string, AttemptCounter>) => AttemptWrite<T>, turn: Turn): Promise<{ done: true, result: T } | { done: false, found: Array<string | null> }> {
    const current = new Map<string, AttemptCounter>()
    keys.forEach((key, at) => { const value = read[at]; if (value !== null) current.set(key, decode(key, value)) })
    const { write, remove = [], result } = decide(current)
    // A decision that changes nothing is true as of the read (MGET reads all keys at one
    // instant), unless this update may hold claims: the script then drops them.
    if (write.length === 0 && remove.length === 0 && !turn.claimed) return { done: true, result }
    // One value per key, the last written wins, as in the SQL store.
    const written = [...new Map(write.map((counter) => [counter.key, counter])).values()]
    const claimMs = turn.round >= CLAIM_AFTER_ROUNDS ? Math.max(1, turn.deadline.remainingMs()) : 0
    if (claimMs > 0) turn.claimed = true
    const applied = await turn.deadline.race(COMPARE_AND_SET.run(
      redis,
      [index, ...keys.map(counterKey), ...keys.map(claimKey), ...written.map(({ key }) => counterKey(key)), ...remove.map(counterKey)],
      [keys.length, written.length, remove.length, MAX_THROTTLE_SECONDS, turn.token, claimMs, ...read.map((value) => value ?? ''), ...written.flatMap((counter) => [encode(counter), counter.lastAttemptAt, counter.key]), ...remove]
    ))
    return Array.isArray(applied) ? { done: false, found: applied as Array<string | null> } : { done: true, result }
  }

  async function update<T> (keys: readonly string[], decide: (current: ReadonlyMap<string, AttemptCounter>) => AttemptWrite<T>): Promise<T> {
    const unique = [...new Set(keys)]
    const deadline = new Deadline(timeoutMs)
    const rounds = async (): Promise<T> => {
      deadline.check()
      let read = unique.length === 0 ? [] : await deadline.race(redis.mget(...unique.map(counterKey)))
      const turn: Turn = { deadline, token: randomBytes(12).toString('base64url'), round: 1, claimed: false }
      for (; turn.round <= MAX_ROUNDS; turn.round++) {
        const outcome = await tryOnce(unique, read, decide, turn)
        if (outcome.done) return outcome.result
        read = outcome.found
        // Deciding again at once on the values just found is the best chance to win, and a
        // claim is handed on within a round trip: a pause would only leave the key idle.
        // Only far past the usual (a few rounds per contending instance) does it back off.
        if (turn.round >= MAX_ROUNDS / 2) await sleep(Math.random() * turn.round)
      }
      throw new Error(`the counters ${unique.join(', ')} changed under ${MAX_ROUNDS} updates in a row`)
    }
    // The outer race bounds the wait for this process's earlier updates of these keys;
    // the inner one frees their turn for the next when Redis does not answer.
    return await deadline.race(queue.run(unique, async () => await deadline.race(rounds())))
  }

  async function prune (idleBefore: number): Promise<number> {
    // Housekeeping, not a deadline: past `timeout` no batch starts (the next prune goes
    // on, and counters expire by themselves), so that closing the app waits for one
    // batch, not for the deletion of millions of counters after a spraying attack.
    const budget = new Deadline(timeoutMs)
    let deleted = 0
    for (;;) {
      const deadline = new Deadline(timeoutMs)
      const idle = await deadline.race(redis.zrangebyscore(index, '-inf', `(${idleBefore}`, 'LIMIT', 0, PRUNE_BATCH))
      if (idle.length === 0) return deleted
      deleted += Number(await deadline.race(PRUNE_IDLE.run(redis, [index, ...idle.map(counterKey)], [idleBefore, ...idle])))
      if (idle.length < PRUNE_BATCH || budget.remainingMs() <= 0) return deleted
    }
  }

  return {
    update: async (keys, decide) => await guarded(async () => await update(keys, decide)),
    prune: async (idleBefore) => await guarded(async () => await prune(idleBefore))
  }
}
