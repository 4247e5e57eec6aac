import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { CsrfRejectedError, InvalidAuthRequestError, InvalidOptionError, RefreshTokenInvalidError, TokenMissingError } from '../lib/errors.js'
import type { BeforeSession, SignedIn } from '../lib/core/auth-core.js'
import { LoginFailedError, type LoginFailureReason } from '../lib/login/login-failed-error.js'
import type { IssuedSession } from '../lib/sessions/session-service.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../lib/options/known-keys.js'
import type { UserRecord } from '../lib/store/ports.js'
import type { AccessTokenClaims } from './claims-types.js'
import { accountMailRoutes } from './account-mail-routes.js'
import { refuseApiKeysOnRoute } from './api-key-transport.js'
import { coreHandleOf } from './core-handle.js'
import { sessionIdOf } from './csrf-check.js'
import { loginMfaRoutes } from './login-mfa-routes.js'
import { emptyResponses, LoginBody, loginResponses, PasswordChangeBody, RefreshTokenBody, tokenResponses, type LoginRequest, type PasswordChangeRequest, type RefreshTokenRequest } from './login-schemas.js'
import { REGISTER_OPTION_NAMES } from './register-options.js'
import { readCookie } from './request-credentials.js'
import { sessionListRoutes } from './session-list-routes.js'
import { strictValidatorCompiler } from './strict-validator.js'

export interface LoginRoutesOptions {
  /** The `user` object of token responses. Default: id, username, email, roles and profile fields. */
  publicUser?: ((user: UserRecord) => Record<string, unknown>) | undefined
  /** Called after a successful login, for audit logs. */
  onLoginSuccess?: ((event: { request: FastifyRequest, user: UserRecord }) => void | Promise<void>) | undefined
  /** Called after a refused login (the client only ever sees a uniform 401 or 429). */
  onLoginFailure?: ((event: { request: FastifyRequest, username: string, reason: LoginFailureReason }) => void | Promise<void>) | undefined
}

/** A throttle (429), a busy password check (503) or an unverified email (403) as an audit reason; other errors are not refusals. */
function refusalReason (error: unknown): LoginFailureReason | undefined {
  const code = (error as { code?: unknown }).code
  if (code === 'FST_TOKEN_AUTH_LOGIN_THROTTLED') return 'throttled'
  if (code === 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED') return 'email_not_verified'
  return code === 'FST_TOKEN_AUTH_BUSY' ? 'busy' : undefined
}

const defaultPublicUser = (user: UserRecord): Record<string, unknown> =>
  ({ ...user.profile, id: user.id, username: user.username, email: user.email, roles: user.roles })

function optionalFunction<T> (value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError(`loginRoutes ${name} must be a function`)
  return value
}

const LOGIN_ROUTES_OPTIONS: KnownKeys<LoginRoutesOptions> = { publicUser: true, onLoginSuccess: true, onLoginFailure: true }
const LOGIN_ROUTES_OPTION_NAMES = optionNames(LOGIN_ROUTES_OPTIONS, ...REGISTER_OPTION_NAMES)

const plugin: FastifyPluginAsync<LoginRoutesOptions> = async (app, options) => {
  refuseUnknownKeys(options, LOGIN_ROUTES_OPTION_NAMES, { owner: 'loginRoutes' })
  const handle = coreHandleOf(app)
  const stateful = handle.core.stateful
  if (stateful === undefined) throw new InvalidOptionError('loginRoutes needs a `store` in the tokenAuth options')
  const { sessions, tokens } = stateful
  const { cookies, csrf, authenticator } = handle
  const cookieTransport = handle.options.transport.cookie
  const cookieNames = handle.options.cookie.names
  const clientAddress = handle.options.clientAddress
  const publicUser = optionalFunction(options.publicUser, 'publicUser') ?? defaultPublicUser
  const onLoginSuccess = optionalFunction(options.onLoginSuccess, 'onLoginSuccess')
  const onLoginFailure = optionalFunction(options.onLoginFailure, 'onLoginFailure')
  // The refresh cookie travels only to these routes: refresh and logout.
  const refreshPath = app.prefix === '' ? '/' : app.prefix

  // JSON only: a form or text/plain post (what a cross-site <form> can send) gets 415.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(strictValidatorCompiler)
  app.addHook('onRoute', refuseApiKeysOnRoute)

  /**
   * Answers with a session. Browsers (they send Sec-Fetch-Site, which no page script can
   * remove) get the tokens only as HttpOnly cookies, so an injected script cannot read
   * them from a response body either; other clients get them in the body.
   */
  function sendSession (request: FastifyRequest, reply: FastifyReply, session: IssuedSession, refreshTokenRequested: boolean): object {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    const browser = cookieTransport && request.headers['sec-fetch-site'] !== undefined
    const refreshTokenInBody = !cookieTransport || (!browser && refreshTokenRequested)
    if (cookieTransport) cookies.set(reply, session, refreshPath, !refreshTokenInBody)
    const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: session.expiresIn, user: publicUser(session.user) }
    if (!browser) body.access_token = session.accessToken
    if (refreshTokenInBody) {
      body.refresh_token = session.refreshToken
      body.refresh_token_expires_in = Math.floor(session.refreshExpiresAt - handle.core.clock.now() / 1000)
    }
    return body
  }

  /** A session with the browser's new device cookie (once the user proved who they are, every step done). */
  function sendSignedIn (request: FastifyRequest, reply: FastifyReply, { session, deviceToken }: SignedIn, refreshTokenRequested: boolean): object {
    const body = sendSession(request, reply, session, refreshTokenRequested)
    if (cookieTransport) cookies.setDevice(reply, deviceToken, refreshPath)
    return body
  }

  /** onLoginSuccess, as the core runs it before a session starts. */
  function beforeSessionOf (request: FastifyRequest): BeforeSession | undefined {
    if (onLoginSuccess === undefined) return undefined
    return async (user: UserRecord) => { await onLoginSuccess({ request, user }) }
  }

  async function passwordChecked<T> (request: FastifyRequest, username: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt()
    } catch (error) {
      const reason = error instanceof LoginFailedError ? error.reason : refusalReason(error)
      if (reason !== undefined) await onLoginFailure?.({ request, username, reason })
      throw error
    }
  }

  /**
   * The browser's device cookie. Two of them (one planted by a sibling subdomain) mean
   * neither is trusted: the login is throttled on the account, rather than refused, so a
   * planted cookie cannot lock the browser out of signing in.
   */
  function deviceCookie (request: FastifyRequest): string | undefined {
    if (!cookieTransport) return undefined
    try {
      return readCookie(request, cookieNames.device)
    } catch {
      return undefined
    }
  }

  /** The session (`sid`) of a valid access-token cookie, if the request carries one (an expired one names none). */
  function accessCookieSession (request: FastifyRequest): string | undefined {
    const token = readCookie(request, cookieNames.accessToken)
    if (token === undefined) return undefined
    try {
      return sessionIdOf(tokens.verify(token))
    } catch {
      return undefined
    }
  }

  /**
   * A cookie refresh token acts in its own session (its family id is the `sid`): the CSRF
   * header must carry that session's token, and a valid access cookie must be of the same
   * session, so a refresh cookie planted from a sibling subdomain is refused before it is spent.
   */
  function checkRefreshCookie (request: FastifyRequest, sessionId: string | undefined): void {
    // An unknown token names no session and cannot be spent: only the origin is checked here.
    if (sessionId === undefined) return csrf.checkRequestOrigin(request)
    csrf.checkCsrf(request, sessionId)
    const accessSession = accessCookieSession(request)
    if (accessSession !== undefined && accessSession !== sessionId) throw new CsrfRejectedError('the refresh token belongs to another session')
  }

  /** The refresh token from the body or the cookie, and whether it came by cookie. */
  function presentedRefreshToken (request: FastifyRequest<{ Body: RefreshTokenRequest }>): { token: string | undefined, byCookie: boolean } {
    const fromBody = request.body?.refresh_token
    const fromCookie = cookieTransport ? readCookie(request, cookieNames.refreshToken) : undefined
    if (fromBody !== undefined && fromCookie !== undefined) {
      throw new InvalidAuthRequestError('send the refresh token in the body or in a cookie, not both')
    }
    return { token: fromBody ?? fromCookie, byCookie: fromCookie !== undefined }
  }

  app.post<{ Body: LoginRequest }>('/login', { schema: { body: LoginBody, response: loginResponses } }, async (request, reply) => {
    // Login CSRF: a page elsewhere (a sibling subdomain too) must not sign the browser in.
    if (cookieTransport) csrf.checkRequestOrigin(request)
    const { username, password } = request.body
    const attempt = { username, password, clientAddress: clientAddress(request), deviceToken: deviceCookie(request), userAgent: request.headers['user-agent'] }
    const outcome = await passwordChecked(request, username, async () => await handle.core.logIn(attempt, beforeSessionOf(request)))
    if (outcome.kind === 'mfa') {
      // The password was right; the second step decides. No session, no cookie yet.
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      return { mfa_required: true, mfa_token: outcome.challenge.token, expires_in: outcome.challenge.expiresIn, methods: outcome.challenge.methods }
    }
    return sendSignedIn(request, reply, outcome, request.body.include_refresh_token === true)
  })

  app.post<{ Body: RefreshTokenRequest }>('/refresh', { schema: { body: RefreshTokenBody, response: tokenResponses } }, async (request, reply) => {
    const presented = presentedRefreshToken(request)
    if (presented.token === undefined) throw new RefreshTokenInvalidError('no refresh token was sent')
    // A cookie refresh must pass the CSRF check of the session it belongs to (an unknown one, the origin checks).
    if (presented.byCookie) csrf.checkRequestOrigin(request)
    const beforeSpend = presented.byCookie ? (sessionId: string) => { checkRefreshCookie(request, sessionId) } : undefined
    try {
      return sendSession(request, reply, await sessions.refresh(presented.token, { clientAddress: clientAddress(request), userAgent: request.headers['user-agent'], beforeSpend }), !presented.byCookie)
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 401 && cookieTransport) cookies.clear(reply, refreshPath)
      throw error
    }
  })

  app.post<{ Body: RefreshTokenRequest }>('/logout', { schema: { body: RefreshTokenBody, response: emptyResponses } }, async (request, reply) => {
    const presented = presentedRefreshToken(request)
    // A cookie logout must pass the CSRF check of the session it ends, before anything is written.
    const beforeEnd = presented.byCookie ? (sessionId: string | undefined) => { checkRefreshCookie(request, sessionId) } : undefined
    let access: AccessTokenClaims | undefined
    let accessError: unknown = new TokenMissingError()
    try {
      access = await authenticator.verifyRequest(request)
    } catch (error) {
      // An expired or revoked access token does not stop a logout by refresh token; anything else does.
      if ((error as { statusCode?: number }).statusCode !== 401) throw error
      accessError = error
    }
    const ended = await sessions.logout(access, presented.token, { clientAddress: clientAddress(request), beforeEnd })
    if (cookieTransport) cookies.clear(reply, refreshPath)
    if (!ended) throw accessError
    reply.header('cache-control', 'no-store').code(204)
  })

  app.post('/logout-all', { onRequest: authenticator.authenticate, schema: { response: emptyResponses } }, async (request, reply) => {
    const claims = authenticator.claimsOf(request)
    await stateful.accounts.logOutEverywhere(claims.sub, { sessionId: claims.sid, address: clientAddress(request) })
    if (cookieTransport) cookies.clear(reply, refreshPath)
    reply.header('cache-control', 'no-store').code(204)
  })

  await app.register(sessionListRoutes, { management: stateful.management })

  app.post<{ Body: PasswordChangeRequest }>('/password', { onRequest: authenticator.authenticate, schema: { body: PasswordChangeBody, response: tokenResponses } }, async (request, reply) => {
    const { current_password: currentPassword, new_password: newPassword } = request.body
    const { sub: userId, sid: sessionId } = authenticator.claimsOf(request)
    const session = await passwordChecked(request, userId, async () =>
      await handle.core.changePassword({ userId, sessionId, currentPassword, newPassword, clientAddress: clientAddress(request), deviceToken: deviceCookie(request), userAgent: request.headers['user-agent'] }))
    return sendSession(request, reply, session, request.body.include_refresh_token === true)
  })

  const flows = stateful.accountMail
  if (flows !== undefined) await app.register(accountMailRoutes, { flows, sendSession, deviceCookie, passwordChecked })
  if (stateful.mfa !== undefined) await app.register(loginMfaRoutes, { sendSignedIn, deviceCookie, beforeSessionOf })
}

/**
 * The session routes, under the prefix you register them with: POST login, refresh,
 * logout, logout-all and password; GET sessions and DELETE sessions/:id; with the `mail`
 * option, also password/forgot, password/reset, email/verification, email/verify and
 * email/change; with the `mfa` option, also login/mfa (the second step of a login) and,
 * with `mfa.passkeys`, login/mfa/passkey-options, login/passkey/options and login/passkey.
 * Needs tokenAuth registered with a `store`.
 */
export const loginRoutes = fp(plugin, {
  fastify: '5.x',
  name: 'fastify-token-auth-login-routes',
  dependencies: ['fastify-token-auth'],
  encapsulate: true
})
export default loginRoutes
