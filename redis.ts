// Attempt counters in Redis, behind their own entry point: the application passes its own
// ioredis client, so neither this package nor a store that does not use it loads Redis.
export { createRedisAttempts, type RedisAttemptsOptions } from './lib/store/redis/redis-attempts.js'
export type { RedisCommands } from './lib/store/redis/redis-scripts.js'
