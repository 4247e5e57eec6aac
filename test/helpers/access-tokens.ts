import { systemClock } from '../../lib/clock.js'
import { AccessTokens, type AccessTokenOptions } from '../../lib/tokens/access-tokens.js'
import { createKeyRing } from '../../lib/tokens/key-ring.js'
import { SECRET } from './app.js'

/** The token engine alone: the test secret, a 10-minute default lifetime capped at an hour, no cache. */
export function accessTokens (overrides: Partial<AccessTokenOptions> = {}): AccessTokens {
  return new AccessTokens({
    ring: createKeyRing([{ secret: SECRET }]),
    issuer: undefined,
    audience: undefined,
    ttlSeconds: 600,
    clockToleranceSeconds: 0,
    maxTokenLength: 4096,
    cacheSize: 0,
    maxTtlSeconds: 3600,
    clock: systemClock,
    ...overrides
  })
}
