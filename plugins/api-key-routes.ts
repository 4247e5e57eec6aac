import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { ActionContext } from '../lib/audit/auth-events.js'
import { InsufficientScopeError, InvalidOptionError } from '../lib/errors.js'
import { refuseUnknownKeys } from '../lib/options/known-keys.js'
import {
  ApiKeyCreateBody, apiKeyCreatedResponses, apiKeyListResponses, ApiKeyParams, ApiKeyRenameBody, apiKeyResponses, apiKeysRevokedResponses, apiKeyViewOf,
  type ApiKeyCreateRequest, type ApiKeyParamsType, type ApiKeyRenameRequest
} from './api-key-schemas.js'
import { refuseApiKeysOnRoute } from './api-key-transport.js'
import { coreHandleOf } from './core-handle.js'
import { emptyResponses } from './login-schemas.js'
import { REGISTER_OPTION_NAMES } from './register-options.js'
import { strictValidatorCompiler } from './strict-validator.js'

/** apiKeyRoutes takes no options of its own: only Fastify's `prefix` and logging ones. */
export type ApiKeyRoutesOptions = Record<never, never>

const plugin: FastifyPluginAsync<ApiKeyRoutesOptions> = async (app, options) => {
  refuseUnknownKeys(options, REGISTER_OPTION_NAMES, { owner: 'apiKeyRoutes' })
  const handle = coreHandleOf(app)
  const apiKeys = handle.core.stateful?.apiKeys
  if (apiKeys === undefined) throw new InvalidOptionError('apiKeyRoutes needs the `apiKeys` option (and a `store`) in the tokenAuth options')
  const { authenticator } = handle

  // JSON only: a form or text/plain post (what a cross-site <form> can send) gets 415.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(strictValidatorCompiler)
  // A key cannot mint, list or revoke keys: these routes take the user's access token only
  // (a cookie one passes CSRF on unsafe methods), whatever apiKeys.allowByDefault says.
  app.addHook('onRoute', refuseApiKeysOnRoute)
  app.addHook('onRequest', authenticator.authenticate)
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  /** The signed-in user, and where they act from, for the audit events. */
  function userContext (request: FastifyRequest): { userId: string, context: ActionContext } {
    const { sub, sid } = authenticator.claimsOf(request)
    return { userId: sub, context: { sessionId: sid, address: handle.options.clientAddress(request) } }
  }

  app.post<{ Body: ApiKeyCreateRequest }>('/api-keys', { schema: { body: ApiKeyCreateBody, response: apiKeyCreatedResponses } }, async (request, reply) => {
    const { userId, context } = userContext(request)
    const { name, scopes, expires_in: expiresIn } = request.body
    // A key is kept only while the token that made it is still good in the store: its session
    // and version are checked after the insert. A token without them (one the application
    // signed itself: sign() refuses sid and ver) could not be checked, so it makes no key.
    const { sid, ver } = authenticator.claimsOf(request)
    if (sid === undefined) throw new InsufficientScopeError('API keys: only a signed-in session\'s token makes them')
    const created = await apiKeys.create(userId, { name, scopes, expiresIn }, { ...context, tokenVersion: ver })
    reply.code(201)
    return { key: created.key, api_key: apiKeyViewOf(created.apiKey) }
  })

  app.get('/api-keys', { schema: { response: apiKeyListResponses } }, async (request) => {
    const { sub } = authenticator.claimsOf(request)
    const [keys, grantable] = await Promise.all([apiKeys.list(sub), apiKeys.grantableScopesOf(sub)])
    return { api_keys: keys.map(apiKeyViewOf), grantable_scopes: grantable }
  })

  app.patch<{ Params: ApiKeyParamsType, Body: ApiKeyRenameRequest }>('/api-keys/:id', { schema: { params: ApiKeyParams, body: ApiKeyRenameBody, response: apiKeyResponses } }, async (request) => {
    const { userId, context } = userContext(request)
    return apiKeyViewOf(await apiKeys.rename(userId, request.params.id, request.body.name, context))
  })

  app.delete<{ Params: ApiKeyParamsType }>('/api-keys/:id', { schema: { params: ApiKeyParams, response: emptyResponses } }, async (request, reply) => {
    const { userId, context } = userContext(request)
    await apiKeys.revoke(userId, request.params.id, context, 'user')
    reply.code(204)
  })

  app.delete('/api-keys', { schema: { response: apiKeysRevokedResponses } }, async (request) => {
    const { userId, context } = userContext(request)
    return { revoked: await apiKeys.revokeAll(userId, context, 'user') }
  })
}

/**
 * The signed-in user's API keys, under the prefix you register them with (e.g. '/auth'):
 * POST api-keys creates one (the key is in that answer only), GET api-keys lists them with
 * the scopes the user may grant, PATCH api-keys/:id renames one, DELETE api-keys/:id revokes
 * one and DELETE api-keys revokes them all. By access token only, never by API key. Needs
 * tokenAuth registered with a `store` and the `apiKeys` option.
 */
export const apiKeyRoutes = fp(plugin, {
  fastify: '5.x',
  name: 'fastify-token-auth-api-key-routes',
  dependencies: ['fastify-token-auth'],
  encapsulate: true
})
export default apiKeyRoutes
