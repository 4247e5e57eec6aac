import { Type, type Static } from '@sinclair/typebox'
import { MAX_KEY_LIFETIME_SECONDS, MIN_KEY_LIFETIME_SECONDS } from '../lib/api-keys/api-key-options.js'
import type { ApiKeySummary } from '../lib/api-keys/api-keys.js'
import { MAX_KEY_SCOPES, SCOPE_NAME_SOURCE } from '../lib/api-keys/scope-catalogue.js'
import { ErrorResponse } from './login-schemas.js'

// Bounds the work before the core checks the content (trimmed, printable; scopes in the catalogue).
const MAX_NAME_LENGTH = 100

const name = Type.String({ minLength: 1, maxLength: MAX_NAME_LENGTH, description: 'The user\'s label for the key.' })
// Any name the catalogue may hold (OAuth's scope characters), so that every scope it offers can be asked for.
const scope = Type.String({ minLength: 1, maxLength: 100, pattern: SCOPE_NAME_SOURCE })

export const ApiKeyCreateBody = Type.Object({
  name,
  scopes: Type.Array(scope, { maxItems: MAX_KEY_SCOPES, description: 'Scopes of the service\'s catalogue the user\'s roles grant.' }),
  expires_in: Type.Optional(Type.Integer({
    minimum: MIN_KEY_LIFETIME_SECONDS,
    maximum: MAX_KEY_LIFETIME_SECONDS,
    description: 'Seconds the key lives, at most the service\'s longest. Default: that longest (or never, where keys may never expire).'
  }))
}, { additionalProperties: false })
export type ApiKeyCreateRequest = Static<typeof ApiKeyCreateBody>

export const ApiKeyRenameBody = Type.Object({ name }, { additionalProperties: false })
export type ApiKeyRenameRequest = Static<typeof ApiKeyRenameBody>

/** Key ids are 16 base62 characters: anything else is a 400 before the store. */
export const ApiKeyParams = Type.Object({ id: Type.String({ pattern: '^[0-9A-Za-z]{16}$' }) }, { additionalProperties: false })
export type ApiKeyParamsType = Static<typeof ApiKeyParams>

const seconds = Type.Integer({ description: 'Seconds since the epoch.' })

/** A key as the HTTP API shows one: never the key itself, never its hash. */
export const ApiKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  start: Type.String({ description: 'The prefix and the first characters of the key, to tell keys apart.' }),
  scopes: Type.Array(Type.String()),
  created_at: seconds,
  expires_at: Type.Union([seconds, Type.Null()], { description: 'Null: the key never expires.' }),
  last_used_at: Type.Union([seconds, Type.Null()], { description: 'To the minute; null while never used.' })
}, { additionalProperties: false })

export function apiKeyViewOf (key: ApiKeySummary): Static<typeof ApiKeyView> {
  return {
    id: key.id,
    name: key.name,
    start: key.start,
    scopes: key.scopes,
    created_at: key.createdAt,
    expires_at: key.expiresAt,
    last_used_at: key.lastUsedAt
  }
}

const errors = { '4xx': ErrorResponse, '5xx': ErrorResponse }

export const apiKeyCreatedResponses = {
  201: Type.Object({ key: Type.String({ description: 'The key, shown this once: it is kept nowhere.' }), api_key: ApiKeyView }, { additionalProperties: false }),
  ...errors
}
export const apiKeyListResponses = {
  200: Type.Object({
    api_keys: Type.Array(ApiKeyView),
    grantable_scopes: Type.Array(Type.String(), { description: 'The scopes the user\'s roles may put into a new key.' })
  }, { additionalProperties: false }),
  ...errors
}
export const apiKeyResponses = { 200: ApiKeyView, ...errors }
export const apiKeysRevokedResponses = { 200: Type.Object({ revoked: Type.Integer() }, { additionalProperties: false }), ...errors }
