import { createHash, randomBytes } from 'node:crypto'

const REFRESH_TOKEN_BYTES = 32
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

export interface NewRefreshToken {
  /** Handed to the client once; never stored. */
  token: string
  /** What the store keeps: SHA-256, hex. A leaked table yields no usable token. */
  hash: string
}

export function hashRefreshToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** 256 random bits, base64url: opaque, so it can never be mistaken for a JWT. */
export function newRefreshToken (): NewRefreshToken {
  const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')
  return { token, hash: hashRefreshToken(token) }
}

/** True for a string that could be a refresh token; anything else is refused unhashed. */
export function looksLikeRefreshToken (value: unknown): value is string {
  return typeof value === 'string' && REFRESH_TOKEN_SHAPE.test(value)
}
