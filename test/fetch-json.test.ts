import { Readable } from 'node:stream'
import t from 'tap'
import { fetchJson, RemoteFetchError, type FetchJsonOptions } from '../lib/remote/fetch-json.js'
import { TestClock } from './helpers/clock.js'
import { startLocalIssuer } from './helpers/local-issuer.js'

// Remote JSON documents: bounded in time and size, from the configured URL only, JSON only.

const clock = new TestClock(Date.UTC(2030, 0, 1))
const options = (overrides: Partial<FetchJsonOptions> = {}): FetchJsonOptions => ({ timeoutMs: 1000, maxBytes: 4096, clock, ...overrides })

t.test('a JSON document is returned with its headers and the time it arrived', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.setHeaders({ 'cache-control': 'max-age=60' })
  const fetched = await fetchJson(issuer.jwksUrl, options())
  t.same(fetched.body, { keys: [issuer.keys[0].jwk] })
  t.equal(fetched.headers.get('cache-control'), 'max-age=60')
  t.equal(fetched.receivedAt, clock.now())
})

t.test('a body streamed without a length is read whole', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.setBody(() => Readable.from(['{"keys"', ': []}']))
  t.same((await fetchJson(issuer.jwksUrl, options())).body, { keys: [] })
})

t.test('a server that accepts and never answers fails within timeoutMs', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.hang()
  await t.rejects(fetchJson(issuer.jwksUrl, options({ timeoutMs: 200 })), { name: 'RemoteFetchError', message: 'no answer within 200 ms' })
})

t.test('a body that stops arriving fails within timeoutMs too: the limit is on the whole exchange', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.hang('body')
  await t.rejects(fetchJson(issuer.jwksUrl, options({ timeoutMs: 200 })), { name: 'RemoteFetchError', message: 'the body did not arrive within 200 ms' })
})

t.test('bodies over maxBytes are refused, by their stated length or while streaming', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.setBody(Buffer.alloc(4097, 32))
  await t.rejects(fetchJson(issuer.jwksUrl, options()), { message: 'the response is 4097 bytes, more than the limit of 4096' })
  issuer.setBody(Buffer.alloc(4096, 32))
  await t.rejects(fetchJson(issuer.jwksUrl, options()), { message: 'the response is not UTF-8 JSON' }, 'exactly the limit is read (and is no JSON)')
  // Endless: only abandoning the download lets this settle at all.
  issuer.setBody(() => Readable.from((function * () { for (;;) yield Buffer.alloc(1024, 32) })()))
  await t.rejects(fetchJson(issuer.jwksUrl, options()), { message: 'the response is longer than the limit of 4096 bytes' })
})

t.test('anything but UTF-8 JSON is refused', async (t) => {
  const issuer = await startLocalIssuer(t)
  for (const body of ['hello', '{"keys": [', '', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])]) {
    issuer.setBody(body)
    await t.rejects(fetchJson(issuer.jwksUrl, options()), { name: 'RemoteFetchError', message: 'the response is not UTF-8 JSON' }, JSON.stringify(body))
  }
})

t.test('any status but 200 is refused, redirects included, which are not followed', async (t) => {
  const issuer = await startLocalIssuer(t)
  for (const status of [204, 304, 404, 500]) {
    issuer.setStatus(status)
    await t.rejects(fetchJson(issuer.jwksUrl, options()), { message: `the answer was HTTP ${status}, not 200` })
  }
  issuer.setStatus(302)
  issuer.setHeaders({ location: '/.well-known/jwks.json' })
  const before = issuer.requests
  await t.rejects(fetchJson(issuer.jwksUrl, options()), { message: /^the request failed: .*redirect/ })
  t.equal(issuer.requests, before + 1, 'the redirect target was never asked')
})

t.test('a refused connection, a connection cut mid-body and bad request headers are RemoteFetchErrors', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.setBody(() => Readable.from((async function * () { yield '{"keys": ['; throw new Error('disk on fire') })()))
  await t.rejects(fetchJson(issuer.jwksUrl, options()), { name: 'RemoteFetchError', message: /^reading the response failed: / })
  await t.rejects(fetchJson(issuer.jwksUrl, options({ headers: { 'bad header': 'x' } })), { name: 'RemoteFetchError', message: /^the request failed: / })
  const url = issuer.jwksUrl
  await issuer.close()
  await t.rejects(fetchJson(url, options()), { name: 'RemoteFetchError', message: /^the request failed: .*ECONNREFUSED/ })
})

t.test('the caller can abandon the exchange, before or during the body', async (t) => {
  const issuer = await startLocalIssuer(t)
  issuer.hang()
  const early = new AbortController()
  const pending = fetchJson(issuer.jwksUrl, options({ signal: early.signal, timeoutMs: 60_000 }))
  early.abort()
  await t.rejects(pending, { name: 'RemoteFetchError', message: /^the request failed: / })
  issuer.hang('body')
  const late = new AbortController()
  const reading = fetchJson(issuer.jwksUrl, options({ signal: late.signal, timeoutMs: 60_000 }))
  await new Promise((resolve) => setTimeout(resolve, 50))
  late.abort()
  await t.rejects(reading, { name: 'RemoteFetchError', message: /^reading the response failed: / })
  t.ok(new RemoteFetchError('x') instanceof Error)
})
