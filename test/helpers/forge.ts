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

/** Order n of the P-256 group (SEC 2 §2.4.2). */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n

function sOf (signature: Buffer): bigint {
  return BigInt(`0x${signature.subarray(32).toString('hex')}`)
}

/** True when an ES256 signature (base64url r||s) has s > n/2. */
export function isHighS (signature: string): boolean {
  return sOf(Buffer.from(signature, 'base64url')) > P256_ORDER >> 1n
}

/** The same ES256 token with s replaced by n - s: the other spelling ECDSA math accepts. */
export function withOtherS (token: string): string {
  const dot = token.lastIndexOf('.')
  const signature = Buffer.from(token.slice(dot + 1), 'base64url')
  const otherS = Buffer.from((P256_ORDER - sOf(signature)).toString(16).padStart(64, '0'), 'hex')
  return `${token.slice(0, dot)}.${Buffer.concat([signature.subarray(0, 32), otherS]).toString('base64url')}`
}
