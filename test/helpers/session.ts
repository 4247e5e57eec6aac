import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { PASSWORD } from './app.js'

export interface LoggedIn {
  response: LightMyRequestResponse
  accessToken: string
  /** Cookie name → value, as the browser would now hold them. */
  cookies: Record<string, string>
  /** A Cookie header carrying the session cookies. */
  cookieHeader: string
  csrfToken: string
  refreshToken: string
}

export function cookiesOf (response: LightMyRequestResponse): Record<string, string> {
  return Object.fromEntries(response.cookies.map((cookie) => [cookie.name, cookie.value]))
}

export function asCookieHeader (cookies: Record<string, string>): string {
  return Object.entries(cookies).filter(([, value]) => value !== '').map(([name, value]) => `${name}=${value}`).join('; ')
}

/** Logs in through POST /auth/login and returns what a browser and an API client would keep. */
export async function login (app: FastifyInstance, body: Record<string, unknown> = {}, remoteAddress = '127.0.0.1'): Promise<LoggedIn> {
  const response = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: PASSWORD, ...body }, remoteAddress })
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.payload}`)
  const cookies = cookiesOf(response)
  const json = response.json()
  return {
    response,
    accessToken: json.access_token,
    cookies,
    cookieHeader: asCookieHeader(cookies),
    csrfToken: cookies['__Host-csrf-token'],
    refreshToken: json.refresh_token ?? cookies['__Secure-refresh-token']
  }
}
