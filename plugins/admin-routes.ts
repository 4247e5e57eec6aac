import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { ActionContext } from '../lib/audit/auth-events.js'
import { refuseApiKeysOnRoute } from './api-key-transport.js'
import { InvalidOptionError, UserNotFoundError } from '../lib/errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../lib/options/known-keys.js'
import { SessionParams, UserListQuery, UserParams, UserPatchBody, type SessionParamsType, type UserListQueryType, type UserParamsType, type UserPatchRequest } from './admin-schemas.js'
import { coreHandleOf } from './core-handle.js'
import { emptyResponses } from './login-schemas.js'
import { publicUserOf, sessionListResponses, sessionViewOf, userPageResponses, userResponses } from './management-views.js'
import { REGISTER_OPTION_NAMES } from './register-options.js'
import { strictValidatorCompiler } from './strict-validator.js'

export interface AdminRoutesOptions {
  /** The role an access token must carry to use these routes. Default 'admin'. */
  role?: string | undefined
}

const ADMIN_ROUTES_OPTIONS: KnownKeys<AdminRoutesOptions> = { role: true }
const ADMIN_ROUTES_OPTION_NAMES = optionNames(ADMIN_ROUTES_OPTIONS, ...REGISTER_OPTION_NAMES)
const DEFAULT_ADMIN_ROLE = 'admin'

function roleOption (role: unknown): string {
  if (role === undefined) return DEFAULT_ADMIN_ROLE
  if (typeof role !== 'string' || role.length === 0 || /\s/.test(role)) throw new InvalidOptionError('adminRoutes role must be a role name: a non-empty string without spaces')
  return role
}

const plugin: FastifyPluginAsync<AdminRoutesOptions> = async (app, options) => {
  refuseUnknownKeys(options, ADMIN_ROUTES_OPTION_NAMES, { owner: 'adminRoutes' })
  const role = roleOption(options.role)
  const handle = coreHandleOf(app)
  const stateful = handle.core.stateful
  if (stateful === undefined) throw new InvalidOptionError('adminRoutes needs a `store` in the tokenAuth options')
  const management = stateful.management
  const { authenticator } = handle

  // JSON only: a form or text/plain post (what a cross-site <form> can send) gets 415.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(strictValidatorCompiler)
  app.addHook('onRoute', refuseApiKeysOnRoute)
  // Every route: the role, checked on a verified token (a cookie one passes CSRF on unsafe methods).
  app.addHook('onRequest', authenticator.requireRole(role))
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  /** Who acts, for the audit events: the administrator, their session and address. */
  function adminContext (request: FastifyRequest): ActionContext {
    const { sub, sid } = authenticator.claimsOf(request)
    return { actorId: sub, sessionId: sid, address: handle.options.clientAddress(request) }
  }

  async function existingUser (id: string): Promise<NonNullable<Awaited<ReturnType<typeof management.findUserById>>>> {
    const user = await management.findUserById(id)
    if (user === undefined) throw new UserNotFoundError()
    return user
  }

  app.get<{ Querystring: UserListQueryType }>('/users', { schema: { querystring: UserListQuery, response: userPageResponses } }, async (request) => {
    const query = request.query
    if ('email' in query) {
      const user = await management.findUserByEmail(query.email)
      return { users: user === undefined ? [] : [publicUserOf(user)], next: null }
    }
    const page = await management.listUsers({ after: query.after, limit: query.limit === undefined ? undefined : Number(query.limit), search: query.search })
    return { users: page.users.map(publicUserOf), next: page.next }
  })

  app.get<{ Params: UserParamsType }>('/users/:id', { schema: { params: UserParams, response: userResponses } }, async (request) => {
    return publicUserOf(await existingUser(request.params.id))
  })

  app.patch<{ Params: UserParamsType, Body: UserPatchRequest }>('/users/:id', { schema: { params: UserParams, body: UserPatchBody, response: userResponses } }, async (request) => {
    const { id } = request.params
    const { disabled, ...changes } = request.body
    const context = adminContext(request)
    if (Object.keys(changes).length > 0) await management.updateUser(id, changes, context)
    if (disabled !== undefined) await management.setDisabled(id, disabled, context)
    return publicUserOf(await existingUser(id))
  })

  app.post<{ Params: UserParamsType }>('/users/:id/unlock', { schema: { params: UserParams, response: emptyResponses } }, async (request, reply) => {
    await management.unlockUser(request.params.id, adminContext(request))
    reply.code(204)
  })

  app.get<{ Params: UserParamsType }>('/users/:id/sessions', { schema: { params: UserParams, response: sessionListResponses } }, async (request) => {
    const { sid } = authenticator.claimsOf(request)
    return { sessions: (await management.listSessions(request.params.id)).map((session) => sessionViewOf(session, sid)) }
  })

  app.delete<{ Params: SessionParamsType }>('/users/:id/sessions/:sessionId', { schema: { params: SessionParams, response: emptyResponses } }, async (request, reply) => {
    const { id, sessionId } = request.params
    await management.endSession(id, sessionId, { by: 'admin', ...adminContext(request) })
    reply.code(204)
  })

  app.delete<{ Params: UserParamsType }>('/users/:id/sessions', { schema: { params: UserParams, response: emptyResponses } }, async (request, reply) => {
    await management.endAllSessions(request.params.id, adminContext(request))
    reply.code(204)
  })
}

/**
 * User management over HTTP for administrators, under the prefix you register it with:
 * list and look up users, change them, unlock them, list and end their sessions. Every
 * route needs an access token with the `role` option's role (default 'admin').
 */
export const adminRoutes = fp(plugin, {
  fastify: '5.x',
  name: 'fastify-token-auth-admin-routes',
  dependencies: ['fastify-token-auth'],
  encapsulate: true
})
export default adminRoutes
