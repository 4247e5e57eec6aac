import fc from 'fast-check'
import t from 'tap'
import { createMemoryStore } from 'fastify-token-auth'
import { systemClock } from '../lib/clock.js'
import { AccessTokens } from '../lib/tokens/access-tokens.js'
import { createKeyRing } from '../lib/tokens/key-ring.js'
import { buildApp, PASSWORD, SECRET } from './helpers/app.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { createUser } from './helpers/stores.js'

// Property-based tests: nothing a client can send is accepted unless it is exactly a
// valid token, and nothing a client can send makes the server answer 5xx or throw.
// FUZZ_RUNS sets the cases per property (default 4000; raise it for long local runs).

const RUNS = Number(process.env.FUZZ_RUNS ?? 4000)
const TOKEN_ERROR_CODES = new Set(['FST_TOKEN_AUTH_INVALID_TOKEN', 'FST_TOKEN_AUTH_TOKEN_EXPIRED'])
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

const tokens = new AccessTokens({ ring: createKeyRing([{ secret: SECRET }]), issuer: 'fuzz', audience: 'fuzz', ttlSeconds: 600, clockToleranceSeconds: 0, maxTokenLength: 4096, cacheSize: 0, maxTtlSeconds: 86400, clock: systemClock })
const valid = tokens.sign({ sub: 'user-1', roles: ['admin'], scope: 'read write' }).token

/** Verifies, and says how: accepted, or refused with one of the 401 token errors. Anything else fails the property. */
function outcome (token: string): 'accepted' | 'refused' {
  try {
    tokens.verify(token)
    return 'accepted'
  } catch (error) {
    const { code, statusCode } = error as { code?: string, statusCode?: number }
    if (statusCode !== 401 || !TOKEN_ERROR_CODES.has(code as string)) throw error
    return 'refused'
  }
}

const segmentOf = (token: string, index: number): string => token.split('.')[index]
const bytesOf = (segment: string): Buffer => Buffer.from(segment, 'base64url')

// Each mutation takes the valid token and returns a changed spelling of it.
const mutations: Array<fc.Arbitrary<string>> = [
  // a bit flipped in the bytes of one segment, re-encoded canonically
  fc.tuple(fc.nat(2), fc.nat(4000)).map(([index, bit]) => {
    const parts = valid.split('.')
    const bytes = bytesOf(parts[index])
    bytes[Math.floor(bit / 8) % bytes.length] ^= 1 << (bit % 8)
    parts[index] = bytes.toString('base64url')
    return parts.join('.')
  }),
  // one character replaced by another of the alphabet
  fc.tuple(fc.nat(valid.length - 1), fc.constantFrom(...BASE64URL)).map(([position, char]) =>
    valid[position] === '.' ? valid : valid.slice(0, position) + char + valid.slice(position + 1)),
  // segments swapped, duplicated or dropped
  fc.array(fc.nat(2), { minLength: 1, maxLength: 5 }).map((order) => order.map((index) => segmentOf(valid, index)).join('.')),
  // padding added, or the standard base64 alphabet used
  fc.tuple(fc.nat(2), fc.constantFrom('=', '==', '+/')).map(([index, style]) => {
    const parts = valid.split('.')
    parts[index] = style === '+/' ? parts[index].replace(/-/g, '+').replace(/_/g, '/') + '+' : parts[index] + style
    return parts.join('.')
  }),
  // header or payload re-serialised with a changed, added or removed member, signature kept
  fc.tuple(fc.nat(1), fc.constantFrom('sub', 'exp', 'roles', 'alg', 'typ', 'kid', 'iss', 'x'), fc.jsonValue({ maxDepth: 2 }), fc.boolean()).map(([index, key, value, remove]) => {
    const parts = valid.split('.')
    const json = JSON.parse(bytesOf(parts[index]).toString()) as Record<string, unknown>
    if (remove) delete json[key]
    else json[key] = value
    parts[index] = Buffer.from(JSON.stringify(json, null, key === 'x' ? 1 : undefined)).toString('base64url')
    return parts.join('.')
  }),
  // whitespace around or inside
  fc.tuple(fc.nat(valid.length), fc.constantFrom(' ', '\t', '\n', '\u00a0')).map(([position, space]) => valid.slice(0, position) + space + valid.slice(position))
]

t.test('the valid token is accepted, so every refusal below is meaningful', async (t) => {
  t.equal(outcome(valid), 'accepted')
})

t.test('random strings are never accepted and only ever refused with a 401 token error', async () => {
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 600 }), fc.string({ unit: 'binary-ascii', maxLength: 600 })), (token) => outcome(token) === 'refused'), { numRuns: RUNS })
})

t.test('random three-segment base64url strings are never accepted', async () => {
  const segment = fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 1, maxLength: 200 })
  fc.assert(fc.property(segment, segment, segment, (a, b, c) => outcome(`${a}.${b}.${c}`) === 'refused'), { numRuns: RUNS })
})

t.test('random bytes dressed as segments are never accepted', async () => {
  const part = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64url'))
  fc.assert(fc.property(part, part, part, (a, b, c) => outcome(`${a}.${b}.${c}`) === 'refused'), { numRuns: RUNS })
})

t.test('a mutated valid token is accepted only when it is byte-identical to the original', async () => {
  fc.assert(fc.property(fc.oneof(...mutations), (mutated) => outcome(mutated) === (mutated === valid ? 'accepted' : 'refused')), { numRuns: RUNS * 2 })
})

t.test('over HTTP, random Bearer values and cookies get 400 or 401, never 5xx', async (t) => {
  const app = await buildApp(t)
  const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 400 })
  await fc.assert(fc.asyncProperty(printable, fc.boolean(), async (value, asCookie) => {
    const headers: Record<string, string> = asCookie ? { cookie: `__Host-access-token=${value}` } : { authorization: `Bearer ${value}` }
    const res = await app.inject({ method: 'GET', url: '/me', headers })
    return res.statusCode === 400 || res.statusCode === 401
  }), { numRuns: RUNS })
})

t.test('login bodies of random shapes get 400, 401 or 415, never 5xx', async (t) => {
  const store = createMemoryStore()
  const hasher = new FastTestHasher()
  await createUser(store, { username: 'alice', password: PASSWORD }, hasher)
  const app = await buildApp(t, { auth: { store, passwords: { hasher }, throttle: { maxAccountFailures: 1_000_000, maxAddressFailures: 1_000_000 } }, routes: {} })
  const credentials = fc.record({ username: fc.string({ unit: 'binary', maxLength: 300 }), password: fc.string({ unit: 'binary', maxLength: 100 }) }, { requiredKeys: [] })
  const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)), credentials.map((value) => JSON.stringify(value)), fc.string({ maxLength: 200 }))
  const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined)
  await fc.assert(fc.asyncProperty(body, contentType, async (payload, type) => {
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload, headers: type === undefined ? {} : { 'content-type': type } })
    return [400, 401, 415].includes(res.statusCode)
  }), { numRuns: RUNS })
})

t.test('refresh and logout bodies of random shapes get 400 or 401, never 5xx', async (t) => {
  // Rate limits far away: this is about what each body gets, not how many.
  const session = { perSessionPerMinute: 100_000, perAddressPerMinute: 1_000_000 }
  const app = await buildApp(t, { auth: { store: createMemoryStore(), passwords: { hasher: new FastTestHasher() }, session }, routes: {} })
  const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ refresh_token: fc.string({ unit: 'binary', maxLength: 100 }) }))
  await fc.assert(fc.asyncProperty(body, fc.constantFrom('/auth/refresh', '/auth/logout'), async (payload, url) => {
    const res = await app.inject({ method: 'POST', url, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } })
    return res.statusCode === 400 || res.statusCode === 401
  }), { numRuns: Math.ceil(RUNS / 2) })
})
