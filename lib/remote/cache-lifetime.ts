/** Bounds on how long a fetched document is trusted before it is fetched again. */
export interface CacheLifetimeOptions {
  /** Floor: even `no-store` does not make us fetch more often than this. */
  minAgeMs: number
  /** Cap: a year-long max-age still lets a removed key go within this. */
  maxAgeMs: number
  /** Used when the response says nothing about caching. */
  defaultAgeMs: number
}

const SECONDS = /^\d+$/
// RFC 9110 §5.6.7 IMF-fixdate, the form servers send: Date.parse alone reads "0" as the year 2000.
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

function httpDate (value: string | null): number {
  return value !== null && HTTP_DATE.test(value) ? Date.parse(value) : NaN
}

// RFC 9111 §1.2.2: delta-seconds are digits only; anything else is no value at all.
function deltaSeconds (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const unquoted = value.length > 1 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
  return SECONDS.test(unquoted) ? Number(unquoted) : undefined
}

function cacheControlAgeMs (header: string, age: number): number | 'no-store' | undefined {
  let maxAge: number | undefined
  for (const part of header.split(',')) {
    const [name, value] = part.trim().split('=', 2) as [string, string | undefined]
    const directive = name.trim().toLowerCase()
    if (directive === 'no-store' || directive === 'no-cache') return 'no-store'
    if (directive === 'max-age') maxAge ??= deltaSeconds(value?.trim())
  }
  return maxAge === undefined ? undefined : (maxAge - age) * 1000
}

function expiresAgeMs (headers: Headers, receivedAt: number): number | undefined {
  const expiresAt = httpDate(headers.get('expires'))
  if (Number.isNaN(expiresAt)) return undefined
  // Both times from the server's clock when it sent Date, so our clock's offset does not matter.
  const sentAt = httpDate(headers.get('date'))
  return expiresAt - (Number.isNaN(sentAt) ? receivedAt : sentAt)
}

/**
 * How long a response may be used, from its caching headers: Cache-Control max-age less
 * the Age it already spent in caches, else Expires less Date, else the default; always
 * within [minAgeMs, maxAgeMs]. Malformed values are ignored as if absent.
 */
export function cacheLifetimeMs (headers: Headers, receivedAt: number, options: CacheLifetimeOptions): number {
  const age = deltaSeconds(headers.get('age') ?? undefined) ?? 0
  const cacheControl = headers.get('cache-control')
  const fromCacheControl = cacheControl === null ? undefined : cacheControlAgeMs(cacheControl, age)
  const lifetime = fromCacheControl === 'no-store'
    ? options.minAgeMs
    : fromCacheControl ?? expiresAgeMs(headers, receivedAt) ?? options.defaultAgeMs
  return Math.min(options.maxAgeMs, Math.max(options.minAgeMs, lifetime))
}
