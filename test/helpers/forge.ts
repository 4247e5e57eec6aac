import { createHmac, randomUUID } from 'node:crypto'
import { SECRET } from './app.js'

/** base64url of a JSON value, a string or bytes. */
export function segment (value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('base64url')
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

/** Signs header.payload with HMAC (raw segments are used as they are when given as strings starting with '='). */
export function forge (header: unknown, payload: unknown, options: { secret?: string | undefined, hash?: string | undefined } = {}): string {
  const signingInput = `${segment(header)}.${segment(payload)}`
  const signature = createHmac(options.hash ?? 'sha256', options.secret ?? SECRET).update(signingInput).digest('base64url')
  return `${signingInput}.${signature}`
}

/** Signs an already-encoded signing input. */
export function signInput (signingInput: string, secret = SECRET, hash = 'sha256'): string {
  return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest('base64url')}`
}

export const ACCESS_HEADER = { alg: 'HS256', typ: 'at+jwt' }

/** Valid access-token claims for the test app, with overrides (undefined removes a claim). */
export function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  const result: Record<string, unknown> = { sub: 'user-1', iat: now, exp: now + 600, jti: randomUUID(), ...overrides }
  for (const [key, value] of Object.entries(result)) if (value === undefined) delete result[key]
  return result
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** Orders n of the P-256, P-384 and P-521 groups (SEC 2), by raw r||s signature length. */
const ORDERS: Record<number, bigint> = {
  64: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  96: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  132: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n
}

function sOf (signature: Buffer): bigint {
  return BigInt(`0x${signature.subarray(signature.length / 2).toString('hex')}`)
}

/** True when an ES256/ES384/ES512 signature (base64url r||s) has s > n/2. */
export function isHighS (signature: string): boolean {
  const bytes = Buffer.from(signature, 'base64url')
  return sOf(bytes) > ORDERS[bytes.length] >> 1n
}

/** The same ECDSA token with s replaced by n - s: the other spelling ECDSA math accepts. */
export function withOtherS (token: string): string {
  const dot = token.lastIndexOf('.')
  const signature = Buffer.from(token.slice(dot + 1), 'base64url')
  const half = signature.length / 2
  const otherS = Buffer.from((ORDERS[signature.length] - sOf(signature)).toString(16).padStart(half * 2, '0'), 'hex')
  return `${token.slice(0, dot)}.${Buffer.concat([signature.subarray(0, half), otherS]).toString('base64url')}`
}
