import type { FastifyReply } from 'fastify'
import type { ResolvedTokenAuthOptions } from './token-auth-options.js'

export interface SessionCookieValues {
  accessToken: string
  /** Seconds the access token lives: the cookie's Max-Age, never longer. */
  accessTokenTtl: number
  /** The session's CSRF token, for the readable cookie the page echoes in a header. */
  csrfToken: string
  refreshToken?: string
  /** Seconds the refresh token (and so the session) lives. */
  refreshTokenTtl: number
}

/**
 * Sets and clears the browser session cookies: the access token (HttpOnly, Path=/),
 * the readable CSRF token bound to the session (Path=/, lives as long as the session so a
 * page can still refresh after the access token expired), and the refresh token (HttpOnly,
 * scoped to the login routes' path so it only travels to refresh and logout).
 */
export class SessionCookies {
  readonly #options: ResolvedTokenAuthOptions['cookie']

  constructor (options: ResolvedTokenAuthOptions['cookie']) {
    this.#options = options
  }

  #attributes (path: string, maxAge: number, httpOnly: boolean): Parameters<FastifyReply['setCookie']>[2] {
    return { path, maxAge: Math.max(0, Math.floor(maxAge)), httpOnly, secure: this.#options.secure, sameSite: this.#options.sameSite }
  }

  set (reply: FastifyReply, values: SessionCookieValues, refreshPath: string): void {
    const { names } = this.#options
    reply.setCookie(names.accessToken, values.accessToken, this.#attributes('/', values.accessTokenTtl, true))
    reply.setCookie(names.csrf, values.csrfToken, this.#attributes('/', values.refreshTokenTtl, false))
    if (values.refreshToken !== undefined) {
      reply.setCookie(names.refreshToken, values.refreshToken, this.#attributes(refreshPath, values.refreshTokenTtl, true))
    }
  }

  clear (reply: FastifyReply, refreshPath: string): void {
    const { names } = this.#options
    reply.clearCookie(names.accessToken, this.#attributes('/', 0, true))
    reply.clearCookie(names.csrf, this.#attributes('/', 0, false))
    reply.clearCookie(names.refreshToken, this.#attributes(refreshPath, 0, true))
  }
}
