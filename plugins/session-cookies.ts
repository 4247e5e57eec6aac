import { serialize, type SerializeOptions } from 'cookie'
import type { FastifyReply } from 'fastify'
import type { Clock } from '../lib/clock.js'
import type { IssuedSession } from '../lib/sessions/session-service.js'
import type { ResolvedTokenAuthOptions } from './token-auth-options.js'

// A browser's login allowance should outlive any one session: a year, renewed at each login.
const DEVICE_COOKIE_MAX_AGE_SECONDS = 365 * 86400
// Max-Age=0 for browsers, the epoch for those that only know Expires.
const EXPIRED = new Date(0)

/**
 * Sets and clears the browser session cookies: the access token (HttpOnly, Path=/),
 * the readable CSRF token bound to the session (Path=/, lives as long as the session so a
 * page can still refresh after the access token expired), and the refresh token (HttpOnly,
 * scoped to the login routes' path so it only travels to refresh and logout).
 *
 * Each cookie is its own Set-Cookie header, appended by `reply.header` (Fastify keeps every
 * set-cookie value): no cookie plugin is needed, and an application's @fastify/cookie adds
 * its own cookies beside ours.
 */
export class SessionCookies {
  readonly #options: ResolvedTokenAuthOptions['cookie']
  readonly #clock: Clock
  readonly #csrfTokenFor: (sessionId: string) => string

  constructor (options: ResolvedTokenAuthOptions['cookie'], clock: Clock, csrfTokenFor: (sessionId: string) => string) {
    this.#options = options
    this.#clock = clock
    this.#csrfTokenFor = csrfTokenFor
  }

  #attributes (path: string, maxAge: number, httpOnly: boolean): SerializeOptions {
    return { path, maxAge: Math.max(0, Math.floor(maxAge)), httpOnly, secure: this.#options.secure, sameSite: this.#options.sameSite }
  }

  /** The access and CSRF cookies, and the refresh cookie unless `includeRefreshToken` is false. */
  set (reply: FastifyReply, session: IssuedSession, refreshPath: string, includeRefreshToken = true): void {
    const { names } = this.#options
    // The CSRF cookie lives as long as the session, so a page can still refresh after the access token expired.
    const refreshTokenTtl = session.refreshExpiresAt - this.#clock.now() / 1000
    reply.header('set-cookie', serialize(names.accessToken, session.accessToken, this.#attributes('/', session.expiresIn, true)))
    reply.header('set-cookie', serialize(names.csrf, this.#csrfTokenFor(session.sessionId), this.#attributes('/', refreshTokenTtl, false)))
    if (includeRefreshToken) {
      reply.header('set-cookie', serialize(names.refreshToken, session.refreshToken, this.#attributes(refreshPath, refreshTokenTtl, true)))
    }
  }

  /** The device cookie of a browser that signed in: long-lived, HttpOnly, only sent to the login routes. */
  setDevice (reply: FastifyReply, deviceToken: string, loginPath: string): void {
    reply.header('set-cookie', serialize(this.#options.names.device, deviceToken, this.#attributes(loginPath, DEVICE_COOKIE_MAX_AGE_SECONDS, true)))
  }

  clear (reply: FastifyReply, refreshPath: string): void {
    const { names } = this.#options
    reply.header('set-cookie', serialize(names.accessToken, '', { ...this.#attributes('/', 0, true), expires: EXPIRED }))
    reply.header('set-cookie', serialize(names.csrf, '', { ...this.#attributes('/', 0, false), expires: EXPIRED }))
    reply.header('set-cookie', serialize(names.refreshToken, '', { ...this.#attributes(refreshPath, 0, true), expires: EXPIRED }))
  }
}
