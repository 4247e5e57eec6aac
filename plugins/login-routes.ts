import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { CsrfRejectedError, InvalidAuthRequestError, InvalidOptionError, RefreshTokenInvalidError, TokenMissingError, TokenRevokedError } from '../lib/errors.js'
import { LoginThrottle, resolveThrottlePolicy, type ThrottleOptions } from '../lib/sessions/login-throttle.js'
import { LoginFailedError, PasswordLogin, type LoginFailureReason } from '../lib/sessions/password-login.js'
import { hashRefreshToken } from '../lib/sessions/refresh-token.js'
import type { IssuedSession } from '../lib/sessions/session-service.js'
import type { UserRecord, UserStore } from '../lib/stores/user-store.js'
import type { AccessTokenClaims } from './claims-types.js'
import { sessionIdOf } from './csrf-check.js'
import { emptyResponses, LoginBody, PasswordChangeBody, RefreshTokenBody, tokenResponses, type LoginRequest, type PasswordChangeRequest, type RefreshTokenRequest } from './login-schemas.js'
import { readCookie } from './request-credentials.js'
import { strictValidatorCompiler } from './strict-validator.js'

export interface LoginRoutesOptions {
  /** Failed-login throttling per account and per client address. */
  throttle?: ThrottleOptions
  /** The `user` object of token responses. Default: id, username, email, roles and profile fields. */
  publicUser?: (user: UserRecord) => Record<string, unknown>
  /** Called after a successful login, for audit logs. */
  onLoginSuccess?: (event: { request: FastifyRequest, user: UserRecord }) => void | Promise<void>
  /** Called after a refused login (the client only ever sees a uniform 401 or 429). */
  onLoginFailure?: (event: { request: FastifyRequest, username: string, reason: LoginFailureReason }) => void | Promise<void>
}

const defaultPublicUser = (user: UserRecord): Record<string, unknown> =>
  ({ ...user.profile, id: user.id, username: user.username, email: user.email, roles: user.roles })

function optionalFunction<T> (value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(`loginRoutes ${name} must be a function`)
  return value
}

const plugin: FastifyPluginAsync<LoginRoutesOptions> = async (app, options) => {
  const api = app.tokenAuth
  if (api.userStore === undefined) throw new InvalidOptionError('loginRoutes needs a `userStore` in the tokenAuth options')
  const store: UserStore = api.userStore
  const login = new PasswordLogin(store, new LoginThrottle(store, resolveThrottlePolicy(options.throttle)))
  const publicUser = optionalFunction(options.publicUser, 'publicUser') ?? defaultPublicUser
  const onLoginSuccess = optionalFunction(options.onLoginSuccess, 'onLoginSuccess')
  const onLoginFailure = optionalFunction(options.onLoginFailure, 'onLoginFailure')
  // The refresh cookie travels only to these routes: refresh and logout.
  const refreshPath = app.prefix === '' ? '/' : app.prefix

  // JSON only: a form or text/plain post (what a cross-site <form> can send) gets 415.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(strictValidatorCompiler)

  /**
   * Answers with a session. Browsers (they send Sec-Fetch-Site, which no page script can
   * remove) get the tokens only as HttpOnly cookies, so an injected script cannot read
   * them from a response body either; other clients get them in the body.
   */
  function sendSession (request: FastifyRequest, reply: FastifyReply, session: IssuedSession, refreshTokenRequested: boolean): object {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    const browser = api.cookieTransport && request.headers['sec-fetch-site'] !== undefined
    const refreshTokenInBody = !api.cookieTransport || (!browser && refreshTokenRequested)
    if (api.cookieTransport) api.setSessionCookies(reply, session, refreshPath, !refreshTokenInBody)
    const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: session.expiresIn, user: publicUser(session.user) }
    if (!browser) body.access_token = session.accessToken
    if (refreshTokenInBody) {
      body.refresh_token = session.refreshToken
      body.refresh_token_expires_in = Math.floor(session.refreshExpiresAt - Date.now() / 1000)
    }
    return body
  }

  async function passwordChecked<T> (request: FastifyRequest, username: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt()
    } catch (error) {
      const reason = error instanceof LoginFailedError ? error.reason : (error as { statusCode?: number }).statusCode === 429 ? 'throttled' : undefined
      if (reason !== undefined) await onLoginFailure?.({ request, username, reason })
      throw error
    }
  }

  /** The session (`sid`) of a valid access-token cookie, if the request carries one (an expired one names none). */
  async function accessCookieSession (request: FastifyRequest): Promise<string | undefined> {
    const token = readCookie(request, api.cookieNames.accessToken)
    return token === undefined ? undefined : await api.verify(token).then(sessionIdOf, () => undefined)
  }

  /**
   * A cookie refresh token acts in its own session (its family id is the `sid`): the CSRF
   * header must carry that session's token, and a valid access cookie must be of the same
   * session, so a refresh cookie planted from a sibling subdomain is refused before it is spent.
   */
  async function checkRefreshCookieCsrf (request: FastifyRequest, refreshToken: string): Promise<void> {
    const familyId = (await store.findRefreshToken(hashRefreshToken(refreshToken)))?.familyId
    // An unknown token names no session and cannot be spent: the refresh answers 401.
    if (familyId === undefined) return api.checkRequestOrigin(request)
    api.checkCsrf(request, familyId)
    const accessSession = await accessCookieSession(request)
    if (accessSession !== undefined && accessSession !== familyId) throw new CsrfRejectedError('the refresh token belongs to another session')
  }

  /** The refresh token from the body or the cookie; a cookie one must pass the CSRF check. */
  async function presentedRefreshToken (request: FastifyRequest<{ Body: RefreshTokenRequest }>): Promise<string | undefined> {
    const fromBody = request.body?.refresh_token
    const fromCookie = api.cookieTransport ? readCookie(request, api.cookieNames.refreshToken) : undefined
    if (fromBody !== undefined && fromCookie !== undefined) {
      throw new InvalidAuthRequestError('send the refresh token in the body or in a cookie, not both')
    }
    if (fromCookie !== undefined) await checkRefreshCookieCsrf(request, fromCookie)
    return fromBody ?? fromCookie
  }

  app.post<{ Body: LoginRequest }>('/login', { schema: { body: LoginBody, response: tokenResponses } }, async (request, reply) => {
    // Login CSRF: a page elsewhere (a sibling subdomain too) must not sign the browser in.
    if (api.cookieTransport) api.checkRequestOrigin(request)
    const { username, password } = request.body
    const user = await passwordChecked(request, username, async () => await login.login({ username, password, clientAddress: request.ip }))
    await onLoginSuccess?.({ request, user })
    return sendSession(request, reply, await api.startSession(user), request.body.include_refresh_token === true)
  })

  app.post<{ Body: RefreshTokenRequest }>('/refresh', { schema: { body: RefreshTokenBody, response: tokenResponses } }, async (request, reply) => {
    const presented = await presentedRefreshToken(request)
    if (presented === undefined) throw new RefreshTokenInvalidError('no refresh token was sent')
    try {
      return sendSession(request, reply, await api.refreshSession(presented), request.body?.refresh_token !== undefined)
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 401 && api.cookieTransport) api.clearSessionCookies(reply, refreshPath)
      throw error
    }
  })

  app.post<{ Body: RefreshTokenRequest }>('/logout', { schema: { body: RefreshTokenBody, response: emptyResponses } }, async (request, reply) => {
    const refreshToken = await presentedRefreshToken(request)
    let access: AccessTokenClaims | undefined
    let accessError: unknown = new TokenMissingError()
    try {
      access = await request.verifyToken()
    } catch (error) {
      // An expired or revoked access token does not stop a logout by refresh token; anything else does.
      if ((error as { statusCode?: number }).statusCode !== 401) throw error
      accessError = error
    }
    if (api.cookieTransport) api.clearSessionCookies(reply, refreshPath)
    if (!await api.endSession(access, refreshToken)) throw accessError
    reply.header('cache-control', 'no-store').code(204)
  })

  app.post('/logout-all', { onRequest: app.authenticate, schema: { response: emptyResponses } }, async (request, reply) => {
    await api.logoutEverywhere(request.user.sub)
    if (api.cookieTransport) api.clearSessionCookies(reply, refreshPath)
    reply.header('cache-control', 'no-store').code(204)
  })

  app.post<{ Body: PasswordChangeRequest }>('/password', { onRequest: app.authenticate, schema: { body: PasswordChangeBody, response: tokenResponses } }, async (request, reply) => {
    const user = await store.findUserById(request.user.sub)
    if (user === undefined) throw new TokenRevokedError()
    const { current_password: currentPassword, new_password: newPassword } = request.body
    await passwordChecked(request, user.username, async () => await login.confirmPassword(user, currentPassword, request.ip))
    const updated = await store.changePassword(user.id, newPassword)
    return sendSession(request, reply, await api.startSession(updated), request.body.include_refresh_token === true)
  })
}

/**
 * The session routes, under the prefix you register them with: POST login, refresh,
 * logout, logout-all and password. Needs tokenAuth registered with a `userStore`.
 */
export const loginRoutes = fp(plugin, {
  fastify: '5.x',
  name: 'fastify-token-auth-login-routes',
  dependencies: ['fastify-token-auth'],
  encapsulate: true
})
export default loginRoutes
