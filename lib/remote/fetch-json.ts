import type { Clock } from '../clock.js'

/** Why a remote document could not be used; the message names no credential. */
export class RemoteFetchError extends Error {
  override name = 'RemoteFetchError'
}

export interface FetchJsonOptions {
  /** The whole exchange, headers and body, must finish within this. */
  timeoutMs: number
  /** Bodies longer than this are refused, and their download abandoned. */
  maxBytes: number
  /** Sent as is (an Authorization header for a service credential). */
  headers?: Record<string, string> | undefined
  /** Aborts the exchange early (the service stopping). */
  signal?: AbortSignal | undefined
  clock: Clock
}

export interface FetchedJson {
  body: unknown
  headers: Headers
  /** When the response arrived, by the injected clock (ms). */
  receivedAt: number
}

async function readLimited (response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) throw new RemoteFetchError(`the response is ${declared} bytes, more than the limit of ${maxBytes}`)
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      // Stop downloading at once: an endless body costs no more than the limit.
      await reader.cancel().catch(() => {})
      throw new RemoteFetchError(`the response is longer than the limit of ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, total)
}

/**
 * GETs a JSON document with a time limit on the whole exchange (a server that accepts
 * the connection and then says nothing is a failure, not a wait) and a size limit on
 * the body. Redirects are refused: the configured URL is the only place trusted.
 */
export async function fetchJson (url: URL, options: FetchJsonOptions): Promise<FetchedJson> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal])
  let response: Response
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...options.headers }, redirect: 'error', signal })
  } catch (error) {
    // undici says only "fetch failed"; the cause says why (refused, reset, a redirect).
    const cause = (error as Error).cause
    throw new RemoteFetchError(timeout.aborted ? `no answer within ${options.timeoutMs} ms` : `the request failed: ${cause instanceof Error ? cause.message : (error as Error).message}`)
  }
  let fetched: FetchedJson
  try {
    if (response.status !== 200) throw new RemoteFetchError(`the answer was HTTP ${response.status}, not 200`)
    const bytes = await readLimited(response, options.maxBytes)
    let body: unknown
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch {
      throw new RemoteFetchError('the response is not UTF-8 JSON')
    }
    fetched = { body, headers: response.headers, receivedAt: options.clock.now() }
  } catch (error) {
    if (error instanceof RemoteFetchError) throw error
    throw new RemoteFetchError(timeout.aborted ? `the body did not arrive within ${options.timeoutMs} ms` : `reading the response failed: ${(error as Error).message}`)
  } finally {
    // Nothing left half-read: the connection goes back to the pool or is closed.
    if (response.body !== null && !response.bodyUsed) await response.body.cancel().catch(() => {})
  }
  return fetched
}
