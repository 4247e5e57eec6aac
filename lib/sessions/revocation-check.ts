import { RevocationsUnavailableError, TokenRevokedError, withRetryAfter } from '../errors.js'
import type { RevocationCheck } from '../tokens/access-tokens.js'
import type { RevocationList } from './revocation-list.js'
import type { RevocationSync } from './revocation-sync.js'

/**
 * The per-request revocation check: two Map lookups and a clock read. When the list
 * could be missing revocations (the store unreachable for longer than the staleness
 * bound), it fails closed with a 503 rather than honour a token that may be revoked.
 */
export function createRevocationCheck (list: RevocationList, sync: RevocationSync): RevocationCheck {
  return (claims, nowMs) => {
    if (list.isRevoked(claims)) throw new TokenRevokedError()
    if (!sync.isFresh(nowMs)) throw withRetryAfter(new RevocationsUnavailableError(), 1)
  }
}
