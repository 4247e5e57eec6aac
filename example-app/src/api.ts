import type { FastifyPluginAsync } from 'fastify'
import { TokenRevokedError } from 'fastify-token-auth'
import type { AuditTrail } from './audit-trail.js'

/**
 * What an API key of this app may be allowed to do, and who may allow it: reading the
 * profile, any user; reading the admin area, an admin. Signed-in sessions carry every
 * scope their roles grant, so the routes below check one thing for both.
 */
export const API_KEY_SCOPES = {
  'profile:read': true,
  'admin:read': ['admin']
} as const

const Profile = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
    emailVerifiedAt: { type: ['integer', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'integer' },
    // Absent for an API key that never expires.
    tokenExpiresAt: { type: 'integer' },
    // 'api_key' when an API key called, absent for a signed-in session.
    authMethod: { type: 'string' },
    // How this session signed in (RFC 8176 amr: pwd, otp, hwk, user, mfa); absent for an API key.
    amr: { type: 'array', items: { type: 'string' } }
  }
} as const

export interface ApiOptions {
  /** What the admins' audit view lists. */
  auditTrail: AuditTrail
}

/**
 * The protected API the page calls: the profile, and an area for admins only. Both also
 * answer API keys that hold their scope (`config.allowApiKeys`); every other route refuses
 * keys. The audit view is for admins signed in with a second factor.
 */
export const api: FastifyPluginAsync<ApiOptions> = async (app, { auditTrail }) => {
  app.get('/me', { onRequest: app.requireScope('profile:read'), config: { allowApiKeys: true }, schema: { response: { 200: Profile } } }, async (request) => {
    const user = await app.tokenAuth.accounts.findUserById(request.user.sub)
    if (user === undefined) throw new TokenRevokedError()
    const { exp, authMethod, amr } = request.user as { exp?: number, authMethod?: string, amr?: string[] }
    return { id: user.id, username: user.username, email: user.email, emailVerifiedAt: user.emailVerifiedAt, roles: user.roles, createdAt: user.createdAt, tokenExpiresAt: exp, authMethod, amr }
  })

  app.get('/admin', { onRequest: app.requireScope('admin:read'), config: { allowApiKeys: true } }, async (request) => {
    return { message: `Welcome to the admin area, user ${request.user.sub}.` }
  })

  // Who signed in, failed, changed a factor: security-sensitive, so a password alone (a stolen
  // one) is not enough: an admin signed in with a second factor (requireRole('admin', { mfa: true })
  // says the same in one guard). API keys never pass requireMfa.
  app.get('/admin/audit', { onRequest: [app.requireRole('admin'), app.requireMfa] }, async (_request, reply) => {
    return await reply.header('cache-control', 'no-store').send({ events: auditTrail.latest() })
  })
}
