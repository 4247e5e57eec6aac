import { Type, type Static } from '@sinclair/typebox'
import type { SessionSummary } from '../lib/sessions/user-sessions.js'
import type { UserRecord } from '../lib/store/ports.js'
import { ErrorResponse } from './login-schemas.js'

// Times are whole seconds since the epoch, as in the tokens' `iat` and `exp`.
const seconds = Type.Integer({ description: 'Seconds since the epoch.' })
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

/** A user as the HTTP API shows one: never the password hash or the token version. */
export const PublicUser = Type.Object({
  id: Type.String(),
  username: Type.String(),
  email: nullable(Type.String()),
  email_verified_at: nullable(seconds),
  roles: Type.Array(Type.String()),
  disabled: Type.Boolean(),
  created_at: seconds,
  profile: Type.Record(Type.String(), Type.Unknown())
}, { additionalProperties: false })

export function publicUserOf (user: UserRecord): Static<typeof PublicUser> {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    email_verified_at: user.emailVerifiedAt === null ? null : Math.floor(user.emailVerifiedAt),
    roles: user.roles,
    disabled: user.disabled,
    created_at: Math.floor(user.createdAt),
    profile: user.profile
  }
}

/** A live session in a list; `current`: the session of the access token that asked. */
export const SessionView = Type.Object({
  id: Type.String(),
  created_at: seconds,
  last_used_at: seconds,
  expires_at: seconds,
  client_address: nullable(Type.String()),
  user_agent: nullable(Type.String()),
  current: Type.Boolean()
}, { additionalProperties: false })

export function sessionViewOf (session: SessionSummary, currentSessionId: string | undefined): Static<typeof SessionView> {
  return {
    id: session.id,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: session.expiresAt,
    client_address: session.clientAddress,
    user_agent: session.userAgent,
    current: session.id === currentSessionId
  }
}

const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse }

export const userResponses = { 200: PublicUser, ...errors }
export const userPageResponses = { 200: Type.Object({ users: Type.Array(PublicUser), next: nullable(Type.String()) }, { additionalProperties: false }), ...errors }
export const sessionListResponses = { 200: Type.Object({ sessions: Type.Array(SessionView) }, { additionalProperties: false }), ...errors }
