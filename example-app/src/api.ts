import type { FastifyPluginAsync } from 'fastify'
import { TokenRevokedError } from 'fastify-token-auth'

const Profile = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
    emailVerifiedAt: { type: ['integer', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'integer' },
    tokenExpiresAt: { type: 'integer' }
  }
} as const

/** The protected API the page calls: the profile, and an area for admins only. */
export const api: FastifyPluginAsync = async (app) => {
  app.get('/me', { onRequest: app.authenticate, schema: { response: { 200: Profile } } }, async (request) => {
    const user = await app.tokenAuth.accounts.findUserById(request.user.sub)
    if (user === undefined) throw new TokenRevokedError()
    return { id: user.id, username: user.username, email: user.email, emailVerifiedAt: user.emailVerifiedAt, roles: user.roles, createdAt: user.createdAt, tokenExpiresAt: request.user.exp }
  })

  app.get('/admin', { onRequest: app.requireRole('admin') }, async (request) => {
    return { message: `Welcome to the admin area, user ${request.user.sub}.` }
  })
}
