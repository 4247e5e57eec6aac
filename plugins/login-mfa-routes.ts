import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { BeforeSession, SignedIn } from '../lib/core/auth-core.js'
import { coreHandleOf } from './core-handle.js'
import { tokenResponses } from './login-schemas.js'
import { EmptyBody, MfaLoginBody, MfaTokenBody, optionsResponses, PasskeyLoginBody, type MfaLoginRequest, type MfaTokenRequest, type PasskeyLoginRequest } from './mfa-schemas.js'

/** What the login routes lend these routes: their answer with a session and its device cookie, the device cookie sent, and onLoginSuccess. */
export interface LoginMfaRoutesOptions {
  sendSignedIn: (request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn, refreshTokenRequested: boolean) => object
  deviceCookie: (request: FastifyRequest) => string | undefined
  beforeSessionOf: (request: FastifyRequest) => BeforeSession | undefined
}

/**
 * The second step of a login (a TOTP code, a recovery code or a passkey after the password)
 * and, with `mfa.passkeys`, signing in with a passkey alone. Registered by loginRoutes under
 * its prefix when the `mfa` option is set. Like a login, none may be posted from elsewhere.
 */
export const loginMfaRoutes: FastifyPluginAsync<LoginMfaRoutesOptions> = async (app, { sendSignedIn, deviceCookie, beforeSessionOf }) => {
  const handle = coreHandleOf(app)
  const { core, csrf } = handle
  const clientAddress = handle.options.clientAddress
  // Login CSRF: a page elsewhere (a sibling subdomain too) must not finish a login in the user's browser.
  const checkOrigin = (request: FastifyRequest): void => { if (handle.options.transport.cookie) csrf.checkRequestOrigin(request) }
  const client = (request: FastifyRequest): { clientAddress: string, deviceToken: string | undefined, userAgent: string | undefined } =>
    ({ clientAddress: clientAddress(request), deviceToken: deviceCookie(request), userAgent: request.headers['user-agent'] })

  app.post<{ Body: MfaLoginRequest }>('/login/mfa', { schema: { body: MfaLoginBody, response: tokenResponses } }, async (request, reply) => {
    checkOrigin(request)
    const { mfa_token: challenge, code, recovery_code: recoveryCode, passkey } = request.body
    const signedIn = await core.completeMfaLogin({ challenge, code, recoveryCode, passkey, ...client(request) }, beforeSessionOf(request))
    return sendSignedIn(request, reply, signedIn, request.body.include_refresh_token === true)
  })

  if (core.options.mfa?.passkeys === undefined) return

  app.post<{ Body: MfaTokenRequest }>('/login/mfa/passkey-options', { schema: { body: MfaTokenBody, response: optionsResponses } }, async (request, reply) => {
    checkOrigin(request)
    reply.header('cache-control', 'no-store')
    return await core.mfaPasskeyOptions({ challenge: request.body.mfa_token, clientAddress: clientAddress(request) })
  })

  app.post('/login/passkey/options', { schema: { body: EmptyBody, response: optionsResponses } }, async (request, reply) => {
    checkOrigin(request)
    reply.header('cache-control', 'no-store')
    return await core.passkeyLoginOptions({ clientAddress: clientAddress(request) })
  })

  app.post<{ Body: PasskeyLoginRequest }>('/login/passkey', { schema: { body: PasskeyLoginBody, response: tokenResponses } }, async (request, reply) => {
    checkOrigin(request)
    const signedIn = await core.passkeyLogIn({ response: request.body.response, ...client(request) }, beforeSessionOf(request))
    return sendSignedIn(request, reply, signedIn, request.body.include_refresh_token === true)
  })
}
