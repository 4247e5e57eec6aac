import type { FastifyPluginAsync } from 'fastify'
import type { UserManagement } from '../lib/core/user-management.js'
import { OwnSessionParams, type OwnSessionParamsType } from './admin-schemas.js'
import { coreHandleOf } from './core-handle.js'
import { emptyResponses } from './login-schemas.js'
import { sessionListResponses, sessionViewOf } from './management-views.js'

/**
 * "Your sessions", for the signed-in user, beside the login routes (which register it):
 * GET sessions lists their live sessions, DELETE sessions/:id ends one of them. A cookie
 * DELETE passes the CSRF check of the session the access token belongs to, as any unsafe
 * cookie request does in `authenticate`.
 */
export const sessionListRoutes: FastifyPluginAsync<{ management: UserManagement }> = async (app, { management }) => {
  const { authenticator, options } = coreHandleOf(app)

  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  app.get('/sessions', { onRequest: authenticator.authenticate, schema: { response: sessionListResponses } }, async (request) => {
    const { sub, sid } = authenticator.claimsOf(request)
    return { sessions: (await management.listSessions(sub)).map((session) => sessionViewOf(session, sid)) }
  })

  app.delete<{ Params: OwnSessionParamsType }>('/sessions/:id', { onRequest: authenticator.authenticate, schema: { params: OwnSessionParams, response: emptyResponses } }, async (request, reply) => {
    const { sub, sid } = authenticator.claimsOf(request)
    await management.endSession(sub, request.params.id, { by: 'user', sessionId: sid, address: options.clientAddress(request) })
    reply.code(204)
  })
}
