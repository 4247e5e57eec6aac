// What every page shares: requests with the CSRF header, the status line, and error codes
// turned into sentences a person can act on.

// The server writes its cookie and header names into each page: with COOKIE_SECURE=false
// the cookie is `csrf-token`, otherwise `__Host-csrf-token`.
function serverSetting (name) {
  return document.querySelector(`meta[name="${name}"]`).content
}

const CSRF_COOKIE = serverSetting('csrf-cookie')
const CSRF_HEADER = serverSetting('csrf-header')
const statusLine = document.getElementById('status')

function csrfToken () {
  const entry = document.cookie.split('; ').find((cookie) => cookie.startsWith(`${CSRF_COOKIE}=`))
  return entry === undefined ? '' : entry.slice(CSRF_COOKIE.length + 1)
}

export function say (message, isError = false) {
  statusLine.textContent = message
  statusLine.className = isError ? 'error' : ''
}

/** A JSON request; unsafe ones echo the readable CSRF cookie in the header the server named. */
export async function call (method, path, body) {
  const headers = method === 'GET' ? {} : { [CSRF_HEADER]: csrfToken() }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  const data = response.status === 204 || response.status === 202 ? null : await response.json().catch(() => null)
  return { status: response.status, data }
}

// 401s about what the user typed, not about the session: renewing the session would only send the guess twice.
const WRONG_INPUT = new Set(['FST_TOKEN_AUTH_INVALID_CREDENTIALS', 'FST_TOKEN_AUTH_INVALID_MFA_CODE', 'FST_TOKEN_AUTH_INVALID_PASSKEY'])

// A call that needs the access token: when it has expired, the refresh cookie renews it once.
export async function authenticatedCall (method, path, body) {
  const first = await call(method, path, body)
  if (first.status !== 401 || WRONG_INPUT.has(first.data?.code)) return first
  const refreshed = await call('POST', '/auth/refresh')
  return refreshed.status === 200 ? await call(method, path, body) : first
}

// The server's codes are stable; its messages are for developers. These are for the person at the page.
const SENTENCES = {
  FST_TOKEN_AUTH_INVALID_CREDENTIALS: 'Wrong username or password.',
  FST_TOKEN_AUTH_LOGIN_THROTTLED: 'Too many failed attempts: wait a moment and try again.',
  FST_TOKEN_AUTH_RATE_LIMITED: 'Too many requests: wait a moment and try again.',
  FST_TOKEN_AUTH_BUSY: 'The server is busy: try again in a moment.',
  FST_TOKEN_AUTH_STORE_UNAVAILABLE: 'The server cannot reach its database: try again in a moment.',
  FST_TOKEN_AUTH_REVOCATIONS_UNAVAILABLE: 'The server cannot check sessions right now: try again in a moment.',
  FST_TOKEN_AUTH_NO_TOKEN: 'You are signed out: please sign in again.',
  FST_TOKEN_AUTH_TOKEN_EXPIRED: 'Your session has ended: please sign in again.',
  FST_TOKEN_AUTH_TOKEN_REVOKED: 'Your session has ended: please sign in again.',
  FST_TOKEN_AUTH_INVALID_TOKEN: 'Your session is not valid: please sign in again.',
  FST_TOKEN_AUTH_INVALID_REFRESH_TOKEN: 'Your session has ended: please sign in again.',
  FST_TOKEN_AUTH_INSUFFICIENT_SCOPE: 'Your account is not allowed to do that.',
  FST_TOKEN_AUTH_CSRF: 'The request was refused as cross-site: reload the page and try again.',
  FST_TOKEN_AUTH_PASSWORD_REJECTED: 'That password is not accepted: choose a longer one (at most 72 bytes, no NUL).',
  FST_TOKEN_AUTH_EMAIL_TAKEN: 'That email address belongs to another account.',
  FST_TOKEN_AUTH_USER_NOT_FOUND: 'There is no such user.',
  FST_TOKEN_AUTH_SESSION_NOT_FOUND: 'That session has already ended.',
  FST_TOKEN_AUTH_API_KEY_NOT_FOUND: 'That API key is revoked already.',
  FST_TOKEN_AUTH_API_KEY_LIMIT: 'You hold as many API keys as allowed: revoke one you no longer use first.',
  FST_TOKEN_AUTH_INVALID_API_KEY_REQUEST: 'The key was refused: give it a name and at least one of the listed scopes.',
  FST_TOKEN_AUTH_INVALID_ACCOUNT_TOKEN: 'This link is not valid any more: it was used already, has expired, or a newer one was sent. Ask for a new link.',
  FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED: 'Your email address is not verified yet: follow the link mailed to it, or have a new one sent below.',
  FST_TOKEN_AUTH_MAIL_NOT_SENT: 'The mail could not be sent right now: try again in a moment.',
  FST_TOKEN_AUTH_INVALID_USER: 'The server refused that input.',
  FST_TOKEN_AUTH_INVALID_MFA_CODE: 'That code is not right (or was used already): try the next one your app shows.',
  FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE: 'The sign-in took too long or was refused: please sign in again.',
  FST_TOKEN_AUTH_INVALID_PASSKEY: 'The passkey was not accepted.',
  FST_TOKEN_AUTH_MFA_REQUIRED: 'This needs a session signed in with your second factor: sign out, then sign in with your code or passkey.',
  FST_TOKEN_AUTH_MFA_CONFLICT: 'Your second factors changed meanwhile: reload the page and try again.',
  FST_TOKEN_AUTH_PASSKEY_NOT_FOUND: 'That passkey is removed already.',
  FST_TOKEN_AUTH_PASSKEY_LIMIT: 'You hold as many passkeys as allowed: remove one first.',
  FST_TOKEN_AUTH_INVALID_MFA_REQUEST: 'The server refused that: check what you typed and try again.',
  FST_ERR_VALIDATION: 'The form is incomplete or malformed.'
}

/** One sentence for a failed call: from its code, else from its status. */
export function describeFailure (result) {
  const sentence = SENTENCES[result.data?.code]
  if (sentence !== undefined) return sentence
  if (result.status === 429) return 'Too many requests: wait a moment and try again.'
  if (result.status >= 500) return 'The server could not do that right now: try again in a moment.'
  return `The server refused the request (${result.data?.code ?? `HTTP ${result.status}`}).`
}

/** The token a mailed link carries in its fragment (`#token=…`), then dropped from the address bar and history. */
export function takeTokenFromFragment () {
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token')
  if (window.location.hash !== '') window.history.replaceState(null, '', window.location.pathname)
  return token
}

export function formatTime (seconds) {
  return seconds === null || seconds === undefined ? '—' : new Date(seconds * 1000).toLocaleString()
}
