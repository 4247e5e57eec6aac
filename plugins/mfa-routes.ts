import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { InvalidOptionError } from '../lib/errors.js'
import type { MfaContext } from '../lib/mfa/second-factors.js'
import { refuseUnknownKeys } from '../lib/options/known-keys.js'
import { refuseApiKeysOnRoute } from './api-key-transport.js'
import { coreHandleOf } from './core-handle.js'
import { emptyResponses } from './login-schemas.js'
import {
  CurrentPasswordBody, optionsResponses, passkeyAddedResponses, PasskeyParams, PasskeyRegisterBody, PasskeyRenameBody, passkeyResponses, passkeyViewOf,
  recoveryCodesResponses, statusResponses, statusViewOf, TotpConfirmBody, totpConfirmedResponses, TotpDisableBody, totpEnrollmentResponses,
  type CurrentPasswordRequest, type PasskeyParamsType, type PasskeyRegisterRequest, type PasskeyRenameRequest, type TotpConfirmRequest, type TotpDisableRequest
} from './mfa-schemas.js'
import { REGISTER_OPTION_NAMES } from './register-options.js'
import { readCookie } from './request-credentials.js'
import { strictValidatorCompiler } from './strict-validator.js'

/** mfaRoutes takes no options of its own: only Fastify's `prefix` and logging ones. */
export type MfaRoutesOptions = Record<never, never>

const plugin: FastifyPluginAsync<MfaRoutesOptions> = async (app, options) => {
  refuseUnknownKeys(options, REGISTER_OPTION_NAMES, { owner: 'mfaRoutes' })
  const handle = coreHandleOf(app)
  const factors = handle.core.stateful?.mfa
  if (factors === undefined) throw new InvalidOptionError('mfaRoutes needs the `mfa` option (and a `store`) in the tokenAuth options')
  const { authenticator } = handle
  const passkeysOn = handle.core.options.mfa?.passkeys !== undefined
  const deviceCookieName = handle.options.transport.cookie ? handle.options.cookie.names.device : undefined

  // JSON only: a form or text/plain post (what a cross-site <form> can send) gets 415.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(strictValidatorCompiler)
  // A key cannot add or remove a factor: these routes take the user's session token only (a
  // cookie one passes CSRF on unsafe methods), whatever apiKeys.allowByDefault says.
  app.addHook('onRoute', refuseApiKeysOnRoute)
  app.addHook('onRequest', authenticator.authenticate)
  app.addHook('onSend', async (_request, reply) => { reply.header('cache-control', 'no-store') })

  /** The browser's device cookie: a password confirmed here is throttled like its logins. Two of them (one planted) name none. */
  function deviceToken (request: FastifyRequest): string | undefined {
    if (deviceCookieName === undefined) return undefined
    try {
      return readCookie(request, deviceCookieName)
    } catch {
      return undefined
    }
  }

  /** Who asks, from the verified access token: its user, session and how that session signed in. */
  function contextOf (request: FastifyRequest): MfaContext {
    const { sub, sid, amr } = authenticator.claimsOf(request)
    return { userId: sub, sessionId: sid, authMethods: Array.isArray(amr) ? amr : undefined, address: handle.options.clientAddress(request), deviceToken: deviceToken(request) }
  }

  app.get('/', { schema: { response: statusResponses } }, async (request) => {
    return statusViewOf(await factors.status(contextOf(request)))
  })

  app.post<{ Body: CurrentPasswordRequest }>('/totp', { schema: { body: CurrentPasswordBody, response: totpEnrollmentResponses } }, async (request) => {
    const { secret, uri, qrSvg } = await factors.beginTotp(contextOf(request), request.body.current_password)
    return { secret, uri, qr_svg: qrSvg }
  })

  app.post<{ Body: TotpConfirmRequest }>('/totp/confirm', { schema: { body: TotpConfirmBody, response: totpConfirmedResponses } }, async (request) => {
    const { recoveryCodes } = await factors.confirmTotp(contextOf(request), request.body.code)
    return recoveryCodes === undefined ? {} : { recovery_codes: recoveryCodes }
  })

  app.post<{ Body: TotpDisableRequest }>('/totp/disable', { schema: { body: TotpDisableBody, response: emptyResponses } }, async (request, reply) => {
    const { current_password: currentPassword, code, recovery_code: recoveryCode } = request.body
    // The core refuses both or neither (400): the proof is passed as it came.
    const proof = { ...code === undefined ? {} : { code }, ...recoveryCode === undefined ? {} : { recoveryCode } } as { code: string }
    await factors.disableTotp(contextOf(request), currentPassword, proof)
    reply.code(204)
  })

  app.post<{ Body: CurrentPasswordRequest }>('/recovery-codes', { schema: { body: CurrentPasswordBody, response: recoveryCodesResponses } }, async (request) => {
    return { recovery_codes: await factors.regenerateRecoveryCodes(contextOf(request), request.body.current_password) }
  })

  if (!passkeysOn) return

  app.post<{ Body: CurrentPasswordRequest }>('/passkeys/options', { schema: { body: CurrentPasswordBody, response: optionsResponses } }, async (request) => {
    return await factors.passkeyRegistrationOptions(contextOf(request), request.body.current_password)
  })

  app.post<{ Body: PasskeyRegisterRequest }>('/passkeys', { schema: { body: PasskeyRegisterBody, response: passkeyAddedResponses } }, async (request, reply) => {
    const { passkey, recoveryCodes } = await factors.registerPasskey(contextOf(request), request.body.name, request.body.response)
    reply.code(201)
    return { passkey: passkeyViewOf(passkey), ...recoveryCodes === undefined ? {} : { recovery_codes: recoveryCodes } }
  })

  app.patch<{ Params: PasskeyParamsType, Body: PasskeyRenameRequest }>('/passkeys/*', { schema: { params: PasskeyParams, body: PasskeyRenameBody, response: passkeyResponses } }, async (request) => {
    return passkeyViewOf(await factors.renamePasskey(contextOf(request), request.params['*'], request.body.name))
  })

  app.delete<{ Params: PasskeyParamsType, Body: CurrentPasswordRequest }>('/passkeys/*', { schema: { params: PasskeyParams, body: CurrentPasswordBody, response: emptyResponses } }, async (request, reply) => {
    await factors.removePasskey(contextOf(request), request.body.current_password, request.params['*'])
    reply.code(204)
  })
}

/**
 * The signed-in user's second factors, under the prefix you register them with (e.g.
 * '/auth/mfa'): GET / their status; POST totp starts a TOTP enrollment, totp/confirm turns
 * it on with a first code, totp/disable turns it off; POST recovery-codes makes a new set;
 * with `mfa.passkeys`, POST passkeys/options and passkeys add a passkey, PATCH passkeys/:id
 * renames one and DELETE passkeys/:id removes one. By a session's access token only, never
 * by API key; once the user has a second factor, only from a session signed in with one.
 * Needs tokenAuth registered with a `store` and the `mfa` option.
 */
export const mfaRoutes = fp(plugin, {
  fastify: '5.x',
  name: 'fastify-token-auth-mfa-routes',
  dependencies: ['fastify-token-auth'],
  encapsulate: true
})
export default mfaRoutes
