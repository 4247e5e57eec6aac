import type { Clock } from '../clock.js'
import type { RevocationFeed } from '../sessions/revocation-sync.js'
import type { RevocationKind, RevocationQuery, StoredRevocation } from '../store/ports.js'
import { fetchJson, RemoteFetchError } from './fetch-json.js'

export interface HttpRevocationFeedOptions {
  /** The full feed URL, e.g. https://auth.example/auth/revocations. */
  url: URL
  /** The service credential the auth service's revocationFeed accepts. */
  credential: string
  /** One page request, headers and body, must finish within this. */
  timeoutMs: number
  /** Pages longer than this are refused. */
  maxBytes: number
  clock: Clock
  /** Aborts requests in flight (the service stopping). */
  signal?: AbortSignal | undefined
}

const KINDS: ReadonlySet<unknown> = new Set<RevocationKind>(['token', 'session', 'user'])
const MAX_SUBJECT_LENGTH = 1024

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/** One row, checked field by field; `previousId` is the id it must be above. */
function revocationOf (row: unknown, index: number, previousId: number, beforeId: number | undefined): StoredRevocation {
  const fail = (why: string): never => { throw new RemoteFetchError(`revocation ${index} of the feed ${why}`) }
  if (!isObject(row)) return fail('is not an object')
  const { id, kind, subject, version, expiresAt, createdAt } = row
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return fail('has no positive integer id')
  // Ascending and above the requested id: a reordered or repeated page would break the sync's gap tracking.
  if (id <= previousId) return fail(`has id ${id}, not above ${previousId}`)
  if (beforeId !== undefined && id >= beforeId) return fail(`has id ${id}, not below ${beforeId}`)
  if (!KINDS.has(kind)) return fail('has an unknown kind')
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) return fail(`has no subject of 1 to ${MAX_SUBJECT_LENGTH} characters`)
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return fail('has no non-negative integer version')
  if (!isFiniteNumber(expiresAt)) return fail('has no numeric expiresAt')
  if (!isFiniteNumber(createdAt)) return fail('has no numeric createdAt')
  return { id, kind: kind as RevocationKind, subject, version, expiresAt, createdAt }
}

/** The rows of one page, refused whole at the first row out of place. */
function pageOf (body: unknown, query: RevocationQuery): StoredRevocation[] {
  if (!isObject(body) || !Array.isArray(body.revocations)) throw new RemoteFetchError('the feed answered without a revocations array')
  const rows: unknown[] = body.revocations
  if (query.limit !== undefined && rows.length > query.limit) throw new RemoteFetchError(`the feed answered ${rows.length} revocations, more than the limit of ${query.limit}`)
  const page: StoredRevocation[] = []
  let previousId = query.afterId
  for (const [index, row] of rows.entries()) {
    const revocation = revocationOf(row, index, previousId, query.beforeId)
    page.push(revocation)
    previousId = revocation.id
  }
  return page
}

/**
 * A RevocationFeed read over HTTP from the auth service's revocationFeed route, for a
 * resource server without the database: the RevocationSync polling it handles gaps and
 * staleness as it does over the store. Every answer is checked strictly; anything off
 * is a RemoteFetchError, a failed poll, never a half-applied page.
 */
export function createHttpRevocationFeed (options: HttpRevocationFeedOptions): RevocationFeed {
  const { url, credential, timeoutMs, maxBytes, clock, signal } = options
  const headers = { authorization: `Bearer ${credential}` }
  return {
    async list (query) {
      const pageUrl = new URL(url)
      pageUrl.searchParams.set('after', String(query.afterId))
      if (query.beforeId !== undefined) pageUrl.searchParams.set('before', String(query.beforeId))
      if (query.limit !== undefined) pageUrl.searchParams.set('limit', String(query.limit))
      const { body } = await fetchJson(pageUrl, { timeoutMs, maxBytes, headers, signal, clock })
      return pageOf(body, query)
    }
  }
}
