import type { FastifyRequest } from 'fastify'
import { InvalidOptionError } from '../lib/errors.js'

/** Far above any IP address; longer values would only bloat the per-address counters. */
const MAX_CLIENT_ADDRESS_LENGTH = 128

export type ClientAddressOf = (request: FastifyRequest) => string

function describe (value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`
  return value === null ? 'null' : typeof value
}

/**
 * The address the login throttle and the refresh and logout rate limits count a request
 * against: `request.ip` (which Fastify's `trustProxy` decides), or the `clientAddress`
 * option's. When that function throws or gives no usable address (a missing header, a
 * bug), `request.ip` is used: a client must not get a 500 from it, and the fallback only
 * ever throttles more (everyone behind the proxy shares it), never less. Logged once, not
 * per request, so a broken function cannot flood the log.
 */
export function clientAddressOf (option: unknown): ClientAddressOf {
  if (option === undefined) return (request) => request.ip
  if (typeof option !== 'function') throw new InvalidOptionError('clientAddress must be a function (request) => string')
  const read = option as (request: FastifyRequest) => unknown
  let reported = false
  return (request) => {
    let problem: object
    try {
      const address = read(request)
      if (typeof address === 'string' && address.length > 0 && address.length <= MAX_CLIENT_ADDRESS_LENGTH) return address
      problem = { returned: describe(address) }
    } catch (error) {
      problem = { err: error }
    }
    if (!reported) {
      reported = true
      request.log.warn(problem, `the clientAddress option gave no usable address (a non-empty string of at most ${MAX_CLIENT_ADDRESS_LENGTH} characters); request.ip is used instead. Reported once.`)
    }
    return request.ip
  }
}
