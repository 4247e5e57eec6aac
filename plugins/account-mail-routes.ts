import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { AccountMailFlows } from '../lib/core/auth-core.js'
import type { IssuedSession } from '../lib/sessions/session-service.js'
import {
  acceptedResponses, EmailBody, EmailChangeBody, EmailVerifyBody, PasswordResetBody, passwordResetResponses,
  type EmailChangeRequest, type EmailRequest, type EmailVerifyRequest, type PasswordResetRequest
} from './account-mail-schemas.js'
import { coreHandleOf } from './core-handle.js'
import { emptyResponses } from './login-schemas.js'

/** What the login routes lend these routes: their session answer, the device cookie and the failed-password hook. */
export interface AccountMailRoutesOptions {
  flows: AccountMailFlows
  sendSession: (request: FastifyRequest, reply: FastifyReply, session: IssuedSession, refreshTokenRequested: boolean) => object
  deviceCookie: (request: FastifyRequest) => string | undefined
  passwordChecked: <T>(request: FastifyRequest, username: string, attempt: () => Promise<T>) => Promise<T>
}

function noStore (reply: FastifyReply, status: 202 | 204): void {
  reply.header('cache-control', 'no-store').code(status)
}

/**
 * Password reset, email verification and email change, registered by loginRoutes under its
 * prefix when the `mail` option is set. The routes that take an address answer 202 at once,
 * alike for every address: the lookup and the mail happen after the answer.
 */
export const accountMailRoutes: FastifyPluginAsync<AccountMailRoutesOptions> = async (app, { flows, sendSession, deviceCookie, passwordChecked }) => {
  const handle = coreHandleOf(app)
  const { core, csrf, authenticator } = handle
  const clientAddress = handle.options.clientAddress
  // Like a login: a page elsewhere (a sibling subdomain too) must not post these from the user's browser.
  const checkOrigin = (request: FastifyRequest): void => { if (handle.options.transport.cookie) csrf.checkRequestOrigin(request) }

  app.post<{ Body: EmailRequest }>('/password/forgot', { schema: { body: EmailBody, response: acceptedResponses } }, async (request, reply) => {
    checkOrigin(request)
    await flows.passwordReset.request(request.body.email, clientAddress(request))
    noStore(reply, 202)
  })

  app.post<{ Body: PasswordResetRequest }>('/password/reset', { schema: { body: PasswordResetBody, response: passwordResetResponses } }, async (request, reply) => {
    checkOrigin(request)
    const { token, new_password: newPassword } = request.body
    const { session } = await core.resetPassword({ token, newPassword, clientAddress: clientAddress(request), userAgent: request.headers['user-agent'] })
    if (session !== undefined) return sendSession(request, reply, session, request.body.include_refresh_token === true)
    noStore(reply, 204)
  })

  app.post<{ Body: EmailRequest }>('/email/verification', { schema: { body: EmailBody, response: acceptedResponses } }, async (request, reply) => {
    checkOrigin(request)
    await flows.emailVerification.request(request.body.email, clientAddress(request))
    noStore(reply, 202)
  })

  app.post<{ Body: EmailVerifyRequest }>('/email/verify', { schema: { body: EmailVerifyBody, response: emptyResponses } }, async (request, reply) => {
    checkOrigin(request)
    await core.verifyEmail(request.body.token, clientAddress(request))
    noStore(reply, 204)
  })

  app.post<{ Body: EmailChangeRequest }>('/email/change', { onRequest: authenticator.authenticate, schema: { body: EmailChangeBody, response: acceptedResponses } }, async (request, reply) => {
    const { new_email: newEmail, current_password: currentPassword } = request.body
    const { sub: userId, sid: sessionId } = authenticator.claimsOf(request)
    await passwordChecked(request, userId, async () => {
      await core.requestEmailChange({ userId, sessionId, newEmail, currentPassword, clientAddress: clientAddress(request), deviceToken: deviceCookie(request) })
    })
    noStore(reply, 202)
  })
}
