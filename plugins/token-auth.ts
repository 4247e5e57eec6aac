import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createAuthCore } from '../lib/core/auth-core.js'
import { checkApiKeyRouteConfig, createApiKeyTransport } from './api-key-transport.js'
import { createAuthenticator } from './authenticator.js'
import { challengeOnError } from './bearer-challenge.js'
import type { AccessTokenClaims } from './claims-types.js'
import { kCoreHandle } from './core-handle.js'
import { createCsrfProtection } from './csrf-check.js'
import { refuseTakenNames } from './decorator-names.js'
import './fastify-types.js'
import { createTokenReader, kParsedCookies } from './request-credentials.js'
import { SessionCookies } from './session-cookies.js'
import { TokenAuthDecorator } from './token-auth-api.js'
import { coreOptionsOf, resolveTokenAuthOptions, type TokenAuthOptions } from './token-auth-options.js'
import { weakSecretWarning } from '../lib/tokens/weak-secret-policy.js'

const plugin: FastifyPluginAsync<TokenAuthOptions> = async (app, rawOptions) => {
  // The core first: it validates the keys the plugin's own options derive from.
  const core = createAuthCore<AccessTokenClaims>(coreOptionsOf(rawOptions), { clock: rawOptions.clock, log: app.log, productName: rawOptions.realm })
  const options = resolveTokenAuthOptions(rawOptions)
  const names = options.decorators
  refuseTakenNames(app, names)
  if (options.weakSecrets.length > 0) app.log.warn({ options: options.weakSecrets }, weakSecretWarning(options.weakSecrets))

  const csrf = createCsrfProtection(options)
  const cookies = new SessionCookies(options.cookie, core.clock, csrf.csrfTokenFor)
  const authenticator = createAuthenticator({
    verifier: core.verifier,
    readToken: createTokenReader(options),
    checkCsrf: csrf.checkCsrf,
    userName: names.user,
    apiKeys: createApiKeyTransport({ apiKeys: core.stateful?.apiKeys, options: core.options.apiKeys, clientAddress: options.clientAddress })
  })

  app.decorate(kCoreHandle, { core, options, cookies, csrf, authenticator })
  app.decorate(names.tokenAuth, new TokenAuthDecorator(core, cookies, options, csrf.csrfTokenFor))
  app.addHook('onError', challengeOnError(options.realm))
  app.addHook('onRoute', checkApiKeyRouteConfig)
  app.decorate(names.authenticate, authenticator.authenticate)
  app.decorate(names.requireRole, authenticator.requireRole)
  app.decorate(names.requireScope, authenticator.requireScope)
  app.decorate(names.requireMfa, authenticator.requireMfa)
  // Null until a token verified; typed as the claims for ergonomic use behind `authenticate`.
  app.decorateRequest(names.user, null)
  app.decorateRequest(names.verifyToken, async function (this: FastifyRequest) {
    return authenticator.verifyRequest(this)
  })
  app.decorateRequest(kParsedCookies, null)
  app.addHook('onClose', async () => { await core.stop() })
  await core.start()
}

/** Token authentication for Fastify: signed access tokens by Bearer header or cookie. */
export const tokenAuth = fp(plugin, { fastify: '5.x', name: 'fastify-token-auth' })
export default tokenAuth
