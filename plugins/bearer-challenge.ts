// RFC 6750 §3: which `error` each of our error codes carries in WWW-Authenticate.
// Codes absent here (no token, bad login) get a bare challenge; non-401/400/403 errors none.
const BEARER_ERRORS: Readonly<Record<string, string>> = {
  FST_TOKEN_AUTH_INVALID_TOKEN: 'invalid_token',
  FST_TOKEN_AUTH_TOKEN_EXPIRED: 'invalid_token',
  FST_TOKEN_AUTH_TOKEN_REVOKED: 'invalid_token',
  FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN: 'invalid_token',
  FST_TOKEN_AUTH_INVALID_REQUEST: 'invalid_request',
  FST_TOKEN_AUTH_INSUFFICIENT_SCOPE: 'insufficient_scope'
}

const CHALLENGED_STATUSES = new Set([400, 401, 403])

interface HttpError { code: string, statusCode: number, message: string, headers?: Record<string, string> }

const quoted = (text: string): string => `"${text.replace(/["\\]/g, '')}"`

/** The WWW-Authenticate value for an error, or undefined when none belongs on it. */
export function bearerChallenge (realm: string, error: HttpError): string | undefined {
  const bearerError = BEARER_ERRORS[error.code]
  if (bearerError === undefined) return error.statusCode === 401 ? `Bearer realm=${quoted(realm)}` : undefined
  return `Bearer realm=${quoted(realm)}, error=${quoted(bearerError)}, error_description=${quoted(error.message)}`
}

/**
 * Puts the challenge on the error's `headers`, which Fastify's error handler sends; the
 * same object is returned so call sites can `throw withChallenge(realm, error)`.
 */
export function withChallenge<E> (realm: string, error: E): E {
  const httpError = error as HttpError
  if (!CHALLENGED_STATUSES.has(httpError.statusCode)) return error
  const challenge = bearerChallenge(realm, httpError)
  if (challenge !== undefined) httpError.headers = { ...httpError.headers, 'www-authenticate': challenge }
  return error
}
