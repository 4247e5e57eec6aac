import { createHash } from 'node:crypto'
import { clientAddressKey } from './client-address.js'
import { tryNormaliseUsername } from '../accounts/username.js'

// Stores require printable ASCII keys of at most 200 characters: anything else is hashed,
// under a prefix of its own so that a hashed key never equals a plain one.
const PRINTABLE_ASCII = /^[\x21-\x7e]{1,180}$/

function throttleKey (kind: string, value: string): string {
  if (PRINTABLE_ASCII.test(value)) return `${kind}:${value}`
  return `${kind}#${createHash('sha256').update(value).digest('hex')}`
}

/**
 * The throttling key of an account: its normalised username (so every spelling of one
 * name counts together), or a SHA-256 of the raw value when it can never be a username.
 * A NUL, a control character or 1000 characters never reach the store.
 */
export function accountKey (username: string): string {
  return throttleKey('account', tryNormaliseUsername(username) ?? String(username))
}

/** The throttling key of a client address (an IPv6 /64 counts as one). */
export function addressKey (clientAddress: string): string {
  return throttleKey('address', clientAddressKey(String(clientAddress)))
}

/** The throttling key of a browser holding a valid device token. */
export function deviceKey (nonce: string): string {
  return throttleKey('device', nonce)
}

/** The key counting the account-mail requests (forgotten password, resend, email change) of a client address. */
export function mailRequestAddressKey (clientAddress: string): string {
  return throttleKey('mail-address', clientAddressKey(String(clientAddress)))
}

/**
 * The key counting the mails sent to one address. Always hashed: the counters table
 * never needs to hold anybody's email address.
 */
export function mailRecipientKey (email: string): string {
  return `mail-email#${createHash('sha256').update(email).digest('hex')}`
}

/** The key counting a client address's failed reset and verification links. */
export function accountTokenAddressKey (clientAddress: string): string {
  return throttleKey('account-token-address', clientAddressKey(String(clientAddress)))
}

/** The key counting a client address's failed API keys. */
export function apiKeyAddressKey (clientAddress: string): string {
  return throttleKey('api-key-address', clientAddressKey(String(clientAddress)))
}
