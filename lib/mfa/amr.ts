/**
 * How a session's user proved who they are, as RFC 8176 `amr` values: every access token
 * of the session carries them, so a route can ask for a second factor (`mfa`).
 */
export const AUTH_METHODS = Object.freeze({
  /** A password alone. */
  password: Object.freeze(['pwd']),
  /** A password, then a TOTP code or a recovery code. */
  passwordAndCode: Object.freeze(['pwd', 'otp', 'mfa']),
  /** A password, then a passkey (user presence). */
  passwordAndPasskey: Object.freeze(['pwd', 'hwk', 'mfa']),
  /** A passkey alone, with user verification (a PIN or biometric on the device): two factors in one. */
  passkey: Object.freeze(['hwk', 'user', 'mfa'])
})

/** Whether a session's methods include a second factor. */
export function hasSecondFactor (authMethods: readonly string[] | undefined): boolean {
  return authMethods?.includes('mfa') === true
}
