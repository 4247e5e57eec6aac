import fastifyCookie from '@fastify/cookie'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { SessionService } from '../lib/sessions/session-service.js'
import { AccessTokens } from '../lib/tokens/access-tokens.js'
import { createAuthenticator } from './authenticator.js'
import { challengeOnError } from './bearer-challenge.js'
import type { AccessTokenClaims } from './claims-types.js'
import { createCsrfProtection } from './csrf-check.js'
import './fastify-types.js'
import { createTokenReader } from './request-credentials.js'
import { trackRevocations } from './revocation-tracking.js'
import { SessionCookies } from './session-cookies.js'
import { TokenAuthDecorator } from './token-auth-api.js'
import { resolveTokenAuthOptions, type TokenAuthOptions } from './token-auth-options.js'

const plugin: FastifyPluginAsync<TokenAuthOptions> = async (app, rawOptions) => {
  const options = resolveTokenAuthOptions(rawOptions)
  if (options.transport.cookie && !app.hasDecorator('parseCookie')) await app.register(fastifyCookie)

  const tokens = new AccessTokens<AccessTokenClaims>({
    ring: options.ring,
    issuer: options.issuer,
    audience: options.audience,
    ttlSeconds: options.accessTokenTtlSeconds,
    clockToleranceSeconds: options.clockToleranceSeconds,
    maxTokenLength: options.maxTokenLength,
    cacheSize: options.cacheSize
  })
  const store = options.userStore
  if (store !== undefined) await trackRevocations(app, store, tokens, options.revocation)
  const sessions = store === undefined
    ? undefined
    : new SessionService(store, tokens, options.claims, {
      accessTokenTtlSeconds: options.accessTokenTtlSeconds,
      clockToleranceSeconds: options.clockToleranceSeconds,
      ...options.session
    })
  const csrf = createCsrfProtection(options)
  const authenticator = createAuthenticator({ tokens, readToken: createTokenReader(options), checkCsrf: csrf.checkCsrf })

  app.decorate('tokenAuth', new TokenAuthDecorator({
    realm: options.realm,
    ring: options.ring,
    tokens,
    sessions,
    userStore: store,
    cookies: new SessionCookies(options.cookie),
    cookieNames: options.cookie.names,
    cookieTransport: options.transport.cookie,
    csrf
  }))
  app.addHook('onError', challengeOnError(options.realm))
  app.decorate('authenticate', authenticator.authenticate)
  app.decorate('requireRole', authenticator.requireRole)
  app.decorate('requireScope', authenticator.requireScope)
  // Typed as the claims for ergonomic use behind `authenticate`; null until a token verified.
  app.decorateRequest('user', null as unknown as AccessTokenClaims)
  app.decorateRequest('verifyToken', async function () {
    return authenticator.verifyRequest(this)
  })
}

/** Token authentication for Fastify: signed access tokens by Bearer header or cookie. */
export const tokenAuth = fp(plugin, { fastify: '5.x', name: 'fastify-token-auth' })
export default tokenAuth
