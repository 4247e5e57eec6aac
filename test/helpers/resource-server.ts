import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import tokenAuth, { type IssuerOptions, type TokenAuthOptions } from 'fastify-token-auth'
import type { LocalIssuer, SignOptions } from './local-issuer.js'
import type { TestClock } from './clock.js'

export const API_AUDIENCE = 'orders-api'

/** The issuer options of a test resource server for `issuer`, with overrides. */
export function issuerOptions (issuer: LocalIssuer, overrides: Partial<IssuerOptions> = {}): IssuerOptions {
  return { issuer: issuer.issuer, jwks: { url: issuer.jwksUrl.href }, audience: API_AUDIENCE, allowInsecureLocalhost: true, ...overrides }
}

/**
 * A resource server (fresh per test, closed in teardown) trusting `issuers`, with GET and
 * POST /me (authenticate), /admin (role admin) and /scoped (scopes read:reports and write:reports).
 */
export async function buildResourceServer (t: Test, issuers: IssuerOptions[], options: { clock?: TestClock | undefined, auth?: Partial<TokenAuthOptions> | undefined } = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.teardown(async () => { await app.close() })
  await app.register(tokenAuth, { issuers, transport: { cookie: false }, clock: options.clock, ...options.auth } as TokenAuthOptions)
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  app.post('/me', { onRequest: app.authenticate }, async (request) => request.user)
  app.get('/admin', { onRequest: app.requireRole('admin') }, async () => ({ admin: true }))
  app.get('/scoped', { onRequest: app.requireScope('read:reports', 'write:reports') }, async () => ({ scoped: true }))
  await app.ready()
  return app
}

/** An RFC 9068 access token of the local issuer for this API (typ at+jwt, sub, jti). */
export async function accessToken (issuer: LocalIssuer, claims: Record<string, unknown> = {}, options: SignOptions = {}): Promise<string> {
  return await issuer.sign({ sub: 'user-1', aud: API_AUDIENCE, jti: randomUUID(), ...claims }, { typ: 'at+jwt', ...options })
}

interface Answer { statusCode: number, headers: Record<string, unknown>, json: () => any }

/** Asserts a refusal as a client sees it: the status, the code, and the WWW-Authenticate challenge (or none). */
export function assertRefused (t: Test, res: Answer, expected: { status: number, code: string, description?: RegExp | undefined, challenge?: 'invalid_token' | 'insufficient_scope' | 'bare' | 'none' | undefined }): void {
  t.equal(res.statusCode, expected.status, `status ${expected.status}`)
  t.equal(res.json().code, expected.code)
  const challenge = res.headers['www-authenticate'] as string | undefined
  const kind = expected.challenge ?? (expected.status === 401 ? 'invalid_token' : expected.code === 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE' ? 'insufficient_scope' : 'none')
  if (kind === 'none') t.equal(challenge, undefined, 'no WWW-Authenticate')
  else if (kind === 'bare') t.equal(challenge, 'Bearer realm="api"')
  else t.match(challenge, new RegExp(`^Bearer realm="api", error="${kind}", error_description="`))
  if (expected.description !== undefined) t.match(res.json().message, expected.description)
}
