import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { InvalidAuthRequestError, InvalidOptionError, RevocationsUnavailableError, TokenInvalidError, TokenMissingError, withRetryAfter } from '../lib/errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../lib/options/known-keys.js'
import type { RevocationQuery } from '../lib/store/ports.js'
import { checkSecretStrength, weakSecretPolicy, weakSecretWarning } from '../lib/tokens/weak-secret-policy.js'
import { coreHandleOf } from './core-handle.js'
import { REGISTER_OPTION_NAMES } from './register-options.js'

export interface RevocationFeedOptions {
  /**
   * The service credentials resource servers send as `Authorization: Bearer <credential>`:
   * random strings of 32 or more characters. Several at once allow rotation.
   */
  credentials: string[]
}

const MIN_CREDENTIAL_LENGTH = 32
// RFC 6750 §2.1 b64token: what a Bearer header can carry as is.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const MAX_LIMIT = 1000
const DEFAULT_LIMIT = 500
const QUERY_NAMES = new Set(['after', 'before', 'limit'])
// A decimal id without sign, leading zeros or exponent, as the client writes it.
const DECIMAL = /^(?:0|[1-9][0-9]{0,15})$/

const FEED_OPTIONS: KnownKeys<RevocationFeedOptions> = { credentials: true }
const FEED_OPTION_NAMES = optionNames(FEED_OPTIONS, ...REGISTER_OPTION_NAMES)

const digestOf = (text: string): Buffer => createHash('sha256').update(text).digest()

/** The SHA-256 digests of the credentials, after refusing any a guesser or a header could not take. */
function credentialDigests (credentials: unknown, allowWeakSecret: boolean | undefined, onWeak: (name: string) => void): Buffer[] {
  if (!Array.isArray(credentials) || credentials.length === 0) {
    // Only the kind is shown: a misplaced value may be a credential.
    throw new InvalidOptionError(`revocationFeed credentials must be a non-empty array of strings; got ${Array.isArray(credentials) ? 'an empty array' : typeof credentials}`)
  }
  // tokenAuth's allowWeakSecret applies here too: one rule for every secret of the service.
  const policy = weakSecretPolicy(allowWeakSecret, onWeak)
  return credentials.map((credential: unknown, index) => {
    const name = `revocationFeed credentials[${index}]`
    // The value itself is never echoed: it is a secret.
    if (typeof credential !== 'string') throw new InvalidOptionError(`${name} must be a string`)
    if (credential.length < MIN_CREDENTIAL_LENGTH) throw new InvalidOptionError(`${name} must be at least ${MIN_CREDENTIAL_LENGTH} characters; got ${credential.length}`)
    if (!B64TOKEN.test(credential)) throw new InvalidOptionError(`${name} must be letters, digits and - . _ ~ + / (base64url), as a Bearer header carries it`)
    checkSecretStrength(Buffer.from(credential), name, policy)
    return digestOf(credential)
  })
}

/** A non-negative decimal integer from the query, or undefined when absent. */
function queryInteger (query: Record<string, unknown>, name: string): number | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !DECIMAL.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidAuthRequestError(`${name} must be one non-negative integer`)
  }
  return Number(value)
}

/** after (required), before (optional, above after) and limit (1..1000, default 500); nothing else. */
function revocationQuery (request: FastifyRequest): Required<Pick<RevocationQuery, 'afterId' | 'limit'>> & Pick<RevocationQuery, 'beforeId'> {
  const query = request.query as Record<string, unknown>
  for (const name of Object.keys(query)) {
    // The name is not echoed: it would land in WWW-Authenticate, where not every character may go.
    if (!QUERY_NAMES.has(name)) throw new InvalidAuthRequestError('the query takes only after, before and limit')
  }
  const afterId = queryInteger(query, 'after')
  if (afterId === undefined) throw new InvalidAuthRequestError('after is required')
  const beforeId = queryInteger(query, 'before')
  if (beforeId !== undefined && beforeId <= afterId) throw new InvalidAuthRequestError('before must be above after')
  const limit = queryInteger(query, 'limit') ?? DEFAULT_LIMIT
  if (limit < 1 || limit > MAX_LIMIT) throw new InvalidAuthRequestError(`limit must be 1 to ${MAX_LIMIT}`)
  return { afterId, beforeId, limit }
}

/**
 * Checks `Authorization: Bearer <credential>` against every credential: digests of equal
 * length compared in constant time, with no early exit, so timing tells nothing of
 * which credential, or how much of one, matched.
 */
function serviceAuthentication (digests: readonly Buffer[]): onRequestHookHandler {
  return function (request, _reply, done) {
    const authorization = request.headers.authorization
    const space = authorization?.indexOf(' ') ?? -1
    const scheme = space === -1 ? authorization : authorization?.slice(0, space)
    if (authorization === undefined || scheme?.toLowerCase() !== 'bearer') return done(new TokenMissingError())
    const presented = digestOf(authorization.slice(space + 1).trim())
    let matched = false
    for (const digest of digests) matched = timingSafeEqual(presented, digest) || matched
    done(matched ? undefined : new TokenInvalidError('unknown service credential'))
  }
}

const plugin: FastifyPluginAsync<RevocationFeedOptions> = async (app, options) => {
  refuseUnknownKeys(options, FEED_OPTION_NAMES, { owner: 'revocationFeed' })
  const handle = coreHandleOf(app)
  const stateful = handle?.core.stateful
  if (stateful === undefined) throw new InvalidOptionError('revocationFeed needs tokenAuth registered before it, with a `store`')
  const weak: string[] = []
  const digests = credentialDigests(options.credentials, handle.core.options.allowWeakSecret, (name) => { weak.push(name) })
  if (weak.length > 0) app.log.warn({ options: weak }, weakSecretWarning(weak))
  const revocations = stateful.store.revocations

  app.get('/revocations', { onRequest: serviceAuthentication(digests) }, async (request, reply) => {
    const query = revocationQuery(request)
    reply.header('cache-control', 'no-store')
    try {
      return { revocations: await revocations.list(query) }
    } catch (error) {
      // The store's error may name hosts or queries: it goes to the log, the client gets a 503.
      request.log.error({ err: error }, 'the revocation feed could not read the store')
      throw withRetryAfter(new RevocationsUnavailableError(), 1)
    }
  })
}

/**
 * GET <prefix>/revocations: the store's revocations by id, for resource servers that
 * verify tokens without the database. Needs tokenAuth registered with a `store`.
 */
export const revocationFeed = fp(plugin, {
  fastify: '5.x',
  name: 'fastify-token-auth-revocation-feed',
  // No fastify-plugin `dependencies`: a missing tokenAuth is reported as an InvalidOptionError, as every setup mistake is.
  encapsulate: true
})
export default revocationFeed
