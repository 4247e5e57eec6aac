import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import tokenAuth, { redactPaths } from 'fastify-token-auth'

/** The audience the auth service names this service by in its access tokens. */
export const REPORTS_AUDIENCE = 'fastify-token-auth-example-reports'

export interface ReportsServiceOptions {
  /** Where the auth service (the example app) listens, e.g. http://localhost:3000. */
  authOrigin: string
  /** The auth service's `iss`. */
  issuer: string
  /** The service credential its revocation feed accepts. */
  feedCredential: string
  logger: NonNullable<FastifyServerOptions['logger']>
}

const Report = {
  type: 'object',
  properties: { id: { type: 'string' }, title: { type: 'string' }, owner: { type: 'string' } }
} as const

/**
 * A second service that only verifies tokens: no database, no secret. It trusts the auth
 * service's public keys (its JWKS, refetched when a new key appears) and refuses tokens the
 * auth service logged out within a second, through the revocation feed.
 */
export async function buildReportsService (options: ReportsServiceOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: typeof options.logger === 'object' ? { ...options.logger, redact: [...redactPaths] } : options.logger })
  try {
    // Plain http is for the example on localhost; against a real auth service the URLs are https.
    const local = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(options.authOrigin)
    await app.register(tokenAuth, {
      issuers: [{
        issuer: options.issuer,
        audience: REPORTS_AUDIENCE,
        jwks: { url: `${options.authOrigin}/.well-known/jwks.json` },
        revocations: { url: `${options.authOrigin}/auth/revocations`, credential: options.feedCredential },
        allowInsecureLocalhost: local
      }],
      // Tokens arrive as Bearer headers from API clients; the browser's cookies belong to the auth service.
      transport: { cookie: false }
    })
    app.get('/whoami', { onRequest: app.authenticate }, async (request) => {
      // `roles` is the claim the auth service writes (its default claims); absent for a user without roles.
      const { roles } = request.user as { roles?: string[] }
      return { sub: request.user.sub, roles: roles ?? [] }
    })
    app.get('/reports', { onRequest: app.requireRole('admin'), schema: { response: { 200: { type: 'object', properties: { reports: { type: 'array', items: Report } } } } } }, async (request) => ({
      reports: [{ id: 'r-1', title: 'Sign-ins this week', owner: request.user.sub }]
    }))
    app.get('/healthz', async () => ({ status: 'ok' }))
    await app.ready()
    return app
  } catch (error) {
    await app.close()
    throw error
  }
}
