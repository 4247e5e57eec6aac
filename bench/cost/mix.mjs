// The realistic mix of live revocations: mostly one access token (jti), some whole
// sessions, a few users, expiring uniformly over the access-token TTL after `start`.
// Subjects are shaped like the package's own: a jti is 22 base64url characters (128
// random bits), sessions and users are UUIDs.
import { randomBytes, randomUUID } from 'node:crypto'

export const TTL_SECONDS = 900

/** The i-th revocation of the mix: 90 % token, 8 % session, 2 % user. */
export function mixedRevocation (i, start) {
  const expiresAt = start + 1 + (i % TTL_SECONDS) + (i % 997) / 997
  const slot = i % 50
  if (slot === 0) return { kind: 'user', subject: randomUUID(), version: 1 + (i % 3), expiresAt }
  if (slot < 5) return { kind: 'session', subject: randomUUID(), version: 0, expiresAt }
  return { kind: 'token', subject: randomJti(), version: 0, expiresAt }
}

// Random bytes drawn in blocks: one system call per 4096 ids instead of one each.
let pool = Buffer.alloc(0)
let offset = 0
function randomJti () {
  if (offset === pool.length) { pool = randomBytes(16 * 4096); offset = 0 }
  offset += 16
  return pool.toString('base64url', offset - 16, offset)
}

export function fillList (list, n, start) {
  for (let i = 0; i < n; i++) list.add(mixedRevocation(i, start))
  return list
}
