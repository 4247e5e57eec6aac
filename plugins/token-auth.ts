import fastifyCookie from '@fastify/cookie'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { createAuthCore } from '../lib/core/auth-core.js'
import { createAuthenticator } from './authenticator.js'
import { challengeOnError } from './bearer-challenge.js'
import type { AccessTokenClaims } from './claims-types.js'
import { kCoreHandle } from './core-handle.js'
import { createCsrfProtection } from './csrf-check.js'
import './fastify-types.js'
import { createTokenReader } from './request-credentials.js'
import { SessionCookies } from './session-cookies.js'
import { TokenAuthDecorator } from './token-auth-api.js'
import { resolveTokenAuthOptions, type TokenAuthOptions } from './token-auth-options.js'
import { weakSecretWarning } from '../lib/tokens/weak-secret-policy.js'

const plugin: FastifyPluginAsync<TokenAuthOptions> = async (app, rawOptions) => {
  // The core first: it validates the keys the plugin's own options derive from.
  const core = createAuthCore<AccessTokenClaims>(rawOptions, { clock: rawOptions.clock, log: app.log })
  const options = resolveTokenAuthOptions(rawOptions)
  if (options.weakSecrets.length > 0) app.log.warn({ options: options.weakSecrets }, weakSecretWarning(options.weakSecrets))
  if (options.transport.cookie && !app.hasDecorator('parseCookie')) await app.register(fastifyCookie)

  const csrf = createCsrfProtection(options)
  const cookies = new SessionCookies(options.cookie, core.clock, csrf.csrfTokenFor)
  const authenticator = createAuthenticator({ tokens: core.tokens, readToken: createTokenReader(options), checkCsrf: csrf.checkCsrf })

  app.decorate(kCoreHandle, { core, options, cookies, csrf })
  app.decorate('tokenAuth', new TokenAuthDecorator(core, cookies, options, csrf.csrfTokenFor))
  app.addHook('onError', challengeOnError(options.realm))
  app.decorate('authenticate', authenticator.authenticate)
  app.decorate('requireRole', authenticator.requireRole)
  app.decorate('requireScope', authenticator.requireScope)
  // Typed as the claims for ergonomic use behind `authenticate`; null until a token verified.
  app.decorateRequest('user', null as unknown as AccessTokenClaims)
  app.decorateRequest('verifyToken', async function () {
    return authenticator.verifyRequest(this)
  })
  app.addHook('onClose', async () => { await core.stop() })
  await core.start()
}

/** Token authentication for Fastify: signed access tokens by Bearer header or cookie. */
export const tokenAuth = fp(plugin, { fastify: '5.x', name: 'fastify-token-auth' })
export default tokenAuth
