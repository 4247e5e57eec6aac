import { Type, type Static } from '@sinclair/typebox'
import { MAX_EMAIL_LENGTH } from '../lib/accounts/email-address.js'
import { MAX_ROLE_LENGTH } from '../lib/accounts/user-input.js'
import { MAX_USER_SEARCH_LENGTH } from '../lib/accounts/user-directory.js'
import { MAX_USERNAME_LENGTH } from '../lib/accounts/username.js'

// Ids are UUIDs; an application's own store may use other strings, never this long.
const MAX_ID_LENGTH = 128
// No id or username holds a control character, and PostgreSQL refuses a NUL in any query
// (an error, not a miss): such a value is a 400 before it reaches the store.
const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f]*$'
const id = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: NO_CONTROL_CHARACTERS })

export const UserParams = Type.Object({ id }, { additionalProperties: false })
export type UserParamsType = Static<typeof UserParams>

export const SessionParams = Type.Object({ id, sessionId: id }, { additionalProperties: false })
export type SessionParamsType = Static<typeof SessionParams>

/** The user's own session routes name the session only. */
export const OwnSessionParams = Type.Object({ id }, { additionalProperties: false })
export type OwnSessionParamsType = Static<typeof OwnSessionParams>

/**
 * A page of users (`after`, `limit`, `search`), or the one user with an address (`email`,
 * alone). Query values are strings: the limit is checked as digits, 1 to 1000.
 */
export const UserListQuery = Type.Union([
  Type.Object({
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$', description: 'Users per page, 1 to 1000. Default 50.' })),
    after: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_USERNAME_LENGTH, pattern: NO_CONTROL_CHARACTERS, description: 'The `next` of the previous page.' })),
    search: Type.Optional(Type.String({ maxLength: MAX_USER_SEARCH_LENGTH, description: 'Text the username or email contains, in any case.' }))
  }, { additionalProperties: false }),
  Type.Object({
    email: Type.String({ minLength: 1, maxLength: MAX_EMAIL_LENGTH, description: 'The user with exactly this address, in any case.' })
  }, { additionalProperties: false })
])
export type UserListQueryType = Static<typeof UserListQuery>

// Generous for any application's roles and profile columns, small enough to bound the work.
const MAX_ROLES = 100
const MAX_PROFILE_FIELDS = 64
const MAX_PROFILE_TEXT_LENGTH = 4096

export const UserPatchBody = Type.Object({
  email: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: MAX_EMAIL_LENGTH }), Type.Null()])),
  roles: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: MAX_ROLE_LENGTH }), { maxItems: MAX_ROLES })),
  profile: Type.Optional(Type.Record(
    Type.String({ maxLength: 64 }),
    Type.Union([Type.String({ maxLength: MAX_PROFILE_TEXT_LENGTH }), Type.Number(), Type.Boolean(), Type.Null()]),
    { maxProperties: MAX_PROFILE_FIELDS })),
  disabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false })
export type UserPatchRequest = Static<typeof UserPatchBody>
