import { createHash } from 'node:crypto'

/**
 * The few commands the Redis ports use, as ioredis (a single client, Sentinel, or a
 * Cluster when every key shares one hash tag) offers them: the package does not depend
 * on ioredis, the application passes its own client.
 */
export interface RedisCommands {
  mget: (...keys: string[]) => Promise<Array<string | null>>
  zrangebyscore: (key: string, min: string, max: string, limit: 'LIMIT', offset: number, count: number) => Promise<string[]>
  evalsha: (sha: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>
  eval: (script: string, numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>
}

/** A Lua script, sent by its SHA-1 and in full only when the server has not seen it yet. */
export class RedisScript {
  readonly #source: string
  readonly #sha: string

  constructor (source: string) {
    this.#source = source
    this.#sha = createHash('sha1').update(source).digest('hex')
  }

  async run (redis: RedisCommands, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args)
    } catch (error) {
      // After a restart or SCRIPT FLUSH the server has forgotten it.
      if (!String((error as { message?: unknown } | null)?.message).startsWith('NOSCRIPT')) throw error
      return await redis.eval(this.#source, keys.length, ...keys, ...args)
    }
  }
}

/**
 * The write half of an optimistic update, atomic as every Lua script is: when each
 * counter read still holds the value read (a missing one is still missing) and no other
 * update has claimed it, store the written counters (with their expiry, and their
 * lastAttemptAt in the idle index), delete the removed ones, drop this update's claims,
 * and answer 1. Otherwise change nothing and answer the values the counters hold now
 * (nil where missing), read in the same atomic step, so that the caller decides again
 * at once with no read of its own that another writer could overtake.
 *
 * Comparing values rather than versions is enough: `decide` is a pure function of the
 * values, so a value that changed and changed back gives the same decision.
 *
 * Claims keep an update that keeps losing from starving (another instance writing the
 * same hot key back to back can win every race): after a few losses the caller asks to
 * claim, and a losing script then claims every counter it read, all or none (none when
 * another update holds one: two half claims would block each other), for ARGV[6] ms.
 * While they are held only that update can write them; its next try, on the values
 * this answer gives, wins.
 *
 * The idle index holds counters by the caller's key, not by the Redis key: a client that
 * prefixes keys itself (ioredis' keyPrefix) changes KEYS but not the members, so prune
 * can turn a member back into the key the client will prefix.
 *
 * KEYS: the idle index, the counters read, their claims, the counters written, the
 * counters removed. ARGV: how many read, written, removed; the expiry in seconds; this
 * update's token; how long to claim in ms (0: do not claim); each value read ('' when
 * missing); each written counter's value, lastAttemptAt and key; each removed key.
 */
export const COMPARE_AND_SET = new RedisScript(`
local read, written, removed = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local token, claimMs = ARGV[5], tonumber(ARGV[6])
local current, same, claimedByOther = {}, true, false
for i = 1, read do
  current[i] = redis.call('GET', KEYS[1 + i])
  if (current[i] or '') ~= ARGV[6 + i] then same = false end
  local claim = redis.call('GET', KEYS[1 + read + i])
  if claim and claim ~= token then claimedByOther = true end
end
if claimedByOther or not same then
  if claimMs > 0 and not claimedByOther then
    for i = 1, read do redis.call('SET', KEYS[1 + read + i], token, 'PX', claimMs) end
  end
  return current
end
for i = 1, written do
  local at = 6 + read + 3 * (i - 1)
  redis.call('SET', KEYS[1 + 2 * read + i], ARGV[at + 1], 'EX', ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[at + 2], ARGV[at + 3])
end
for i = 1, removed do
  redis.call('DEL', KEYS[1 + 2 * read + written + i])
  redis.call('ZREM', KEYS[1], ARGV[6 + read + 3 * written + i])
end
for i = 1, read do
  if redis.call('GET', KEYS[1 + read + i]) == token then redis.call('DEL', KEYS[1 + read + i]) end
end
return 1
`)

/**
 * Deletes the given counters that are still idle since before ARGV[1] by the index (one
 * updated since it was listed is kept) and drops them from the index. Answers how many
 * counters it deleted: one that had already expired by itself is not counted.
 *
 * KEYS: the idle index, the candidate counters. ARGV: idleBefore, then each candidate's
 * member in the index (its caller's key).
 */
export const PRUNE_IDLE = new RedisScript(`
local deleted = 0
for i = 2, #KEYS do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) < tonumber(ARGV[1]) then
    deleted = deleted + redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return deleted
`)
