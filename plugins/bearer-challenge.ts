import type { FastifyError, FastifyReply } from 'fastify'

// RFC 6750 §3: the `error` each of our codes carries in WWW-Authenticate. A bare
// challenge (no error attribute) answers a request that brought no usable credentials.
const BEARER_ERRORS: Readonly<Record<string, string | null>> = {
  FST_TOKEN_AUTH_NO_TOKEN: null,
  FST_TOKEN_AUTH_INVALID_CREDENTIALS: null,
  FST_TOKEN_AUTH_INVALID_TOKEN: 'invalid_token',
  FST_TOKEN_AUTH_TOKEN_EXPIRED: 'invalid_token',
  FST_TOKEN_AUTH_TOKEN_REVOKED: 'invalid_token',
  FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN: 'invalid_token',
  FST_TOKEN_AUTH_INVALID_API_KEY: 'invalid_token',
  FST_TOKEN_AUTH_API_KEY_NOT_ALLOWED: 'invalid_token',
  FST_TOKEN_AUTH_INVALID_REQUEST: 'invalid_request',
  FST_TOKEN_AUTH_INSUFFICIENT_SCOPE: 'insufficient_scope',
  FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE: 'invalid_token',
  FST_TOKEN_AUTH_INVALID_MFA_CODE: null,
  FST_TOKEN_AUTH_INVALID_PASSKEY: null,
  FST_TOKEN_AUTH_MFA_REQUIRED: 'insufficient_scope'
}

const quoted = (text: string): string => `"${text.replace(/["\\]/g, '')}"`

/** The WWW-Authenticate value for one of our errors, or undefined when none belongs on it. */
export function bearerChallenge (realm: string, error: { code?: string | undefined, message: string }): string | undefined {
  const bearerError = BEARER_ERRORS[String(error.code)]
  if (bearerError === undefined) return undefined
  if (bearerError === null) return `Bearer realm=${quoted(realm)}`
  return `Bearer realm=${quoted(realm)}, error=${quoted(bearerError)}, error_description=${quoted(error.message)}`
}

/**
 * An onError hook: before any error handler runs (the default or the application's),
 * our errors get their challenge and their headers (Retry-After) on the reply, wherever
 * they were thrown: a hook, a route of ours, or an application handler.
 */
export function challengeOnError (realm: string) {
  return function (_request: unknown, reply: FastifyReply, error: FastifyError & { headers?: Record<string, string> | undefined }, done: () => void): void {
    const challenge = bearerChallenge(realm, error)
    if (challenge !== undefined) reply.header('www-authenticate', challenge)
    if (error.headers !== undefined && String(error.code).startsWith('FST_TOKEN_AUTH_')) reply.headers(error.headers)
    done()
  }
}
