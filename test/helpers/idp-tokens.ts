import { randomUUID } from 'node:crypto'
import type { TokenProfileOptions } from '../../lib/issuers/token-profile.js'

// Access tokens as well-known identity providers issue them (claim names, shapes and header
// typ copied from their documentation and from real tokens), to be signed by the test and
// verified with the profile a README recipe gives for that provider. Only `typ` is set in the
// header: the signer adds alg and kid.

export interface IdpTokenInput {
  /** The `iss` the provider would write (the test issuer's URL). */
  issuer: string
  /** The API the token is for (ignored by Cognito, whose access tokens carry no aud). */
  audience: string
  /** Seconds since the epoch (a JWT NumericDate), e.g. Math.floor(clock.now() / 1000). */
  now: number
  /** The client (application) the token was issued to. Default IDP_CLIENT_ID. */
  clientId?: string | undefined
}

export interface IdpToken {
  header: { typ?: string }
  claims: Record<string, unknown>
}

/** The client every provider token is issued to unless told otherwise. */
export const IDP_CLIENT_ID = 'orders-web'

/** Where Auth0 recipes put roles: a namespaced claim, whose dots a dot path cannot reach. */
export const AUTH0_ROLES_CLAIM = 'https://example.com/roles'

// ---- Keycloak (25/26): typ JWT, azp, realm and client roles, no client_id -----------------

export function keycloakAccessToken ({ issuer, audience, now, clientId = IDP_CLIENT_ID }: IdpTokenInput): IdpToken {
  return {
    header: { typ: 'JWT' },
    claims: {
      exp: now + 300,
      iat: now,
      auth_time: now - 20,
      jti: `onrtac:${randomUUID()}`,
      iss: issuer,
      aud: [audience, 'account'],
      sub: 'f3b1c4d2-7e1a-4c55-9a0b-2b1f6c9e0d11',
      typ: 'Bearer',
      azp: clientId,
      sid: randomUUID(),
      acr: '1',
      'allowed-origins': ['https://orders.example.com'],
      realm_access: { roles: ['default-roles-demo', 'offline_access', 'uma_authorization', 'orders-admin'] },
      resource_access: {
        account: { roles: ['manage-account', 'manage-account-links', 'view-profile'] },
        [clientId]: { roles: ['orders-reader'] }
      },
      scope: 'openid email profile orders:read',
      email_verified: true,
      name: 'Alice Doe',
      preferred_username: 'alice',
      given_name: 'Alice',
      family_name: 'Doe',
      email: 'alice@example.com'
    }
  }
}

/** Keycloak: typ JWT, realm roles. */
export const keycloakProfile: TokenProfileOptions = {
  tokenTypes: ['JWT'],
  roles: 'realm_access.roles'
}

// ---- Auth0: typ at+jwt (RFC 9068 token profile) or JWT (Auth0 profile, no jti, no client_id) --

export function auth0AccessToken ({ issuer, audience, now, clientId = IDP_CLIENT_ID, tokenProfile = 'auth0' }: IdpTokenInput & { tokenProfile?: 'auth0' | 'rfc9068' }): IdpToken {
  const common = {
    iss: issuer,
    sub: 'auth0|65a1f0c2e4b0a1b2c3d4e5f6',
    aud: [audience, `${issuer.replace(/\/?$/, '/')}userinfo`],
    iat: now,
    exp: now + 86400,
    scope: 'openid profile email read:orders write:orders',
    permissions: ['read:orders', 'write:orders'],
    [AUTH0_ROLES_CLAIM]: ['admin', 'support']
  }
  if (tokenProfile === 'rfc9068') {
    return { header: { typ: 'at+jwt' }, claims: { ...common, client_id: clientId, jti: randomUUID(), auth_time: now - 5 } }
  }
  return { header: { typ: 'JWT' }, claims: { ...common, azp: clientId } }
}

/** Auth0: either token profile; roles from the namespaced claim an Action adds. */
export const auth0Profile: TokenProfileOptions = {
  tokenTypes: ['at+jwt', 'JWT'],
  requiredClaims: ['sub', 'iat'],
  roles: (claims) => claims[AUTH0_ROLES_CLAIM]
}

// ---- Amazon Cognito: no typ, no aud, client_id, cognito:groups, token_use ------------------

export function cognitoAccessToken ({ issuer, now, clientId = IDP_CLIENT_ID }: IdpTokenInput): IdpToken {
  return {
    header: {},
    claims: {
      sub: '94c8b4e8-2041-70b1-4f0c-9a1e5b3c2d10',
      'cognito:groups': ['admins', 'us-east-1_AbCdEf123_Google'],
      iss: issuer,
      version: 2,
      client_id: clientId,
      origin_jti: randomUUID(),
      event_id: randomUUID(),
      token_use: 'access',
      scope: 'orders/read orders/write openid email',
      auth_time: now - 3,
      exp: now + 3600,
      iat: now,
      jti: randomUUID(),
      username: 'alice'
    }
  }
}

/** Cognito: no typ and no aud, so the client is what ties the token to this API. */
export const cognitoProfile: TokenProfileOptions = {
  allowMissingTokenType: true,
  roles: 'cognito:groups',
  clientIds: [IDP_CLIENT_ID]
}

// ---- Microsoft Entra ID (v2.0 tokens): typ JWT, scp, roles, azp, no jti (uti instead) ------

export function entraAccessToken ({ issuer, audience, now, clientId = IDP_CLIENT_ID }: IdpTokenInput): IdpToken {
  return {
    header: { typ: 'JWT' },
    claims: {
      aud: audience,
      iss: issuer,
      iat: now,
      nbf: now,
      exp: now + 4478,
      aio: 'AWQAm/8WAAAA',
      azp: clientId,
      azpacr: '0',
      name: 'Alice Doe',
      oid: '5b3c2d10-94c8-4f0c-b4e8-20419a1e70b1',
      preferred_username: 'alice@contoso.example',
      rh: '1.AQ4Azx',
      roles: ['Orders.Admin'],
      scp: 'Orders.Read Orders.Write',
      sub: 'aUq1kJ7Qx0g6_j0Zs9nL3pHc8TfVbWmYrE2dKoN4xIs',
      tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      uti: 'kq2FJ9z0w0u1s8V6bAAAAA',
      ver: '2.0'
    }
  }
}

/** Entra ID v2: typ JWT, no jti, scopes in scp, app roles in roles. */
export const entraProfile: TokenProfileOptions = {
  tokenTypes: ['JWT'],
  requiredClaims: ['sub', 'iat'],
  scopes: 'scp',
  clientIds: [IDP_CLIENT_ID]
}

// ---- Google-like ID token: a plain JWT, typ JWT, no jti, no scope, no roles ----------------

export function googleIdToken ({ issuer, audience, now, clientId = IDP_CLIENT_ID }: IdpTokenInput): IdpToken {
  return {
    header: { typ: 'JWT' },
    claims: {
      iss: issuer,
      azp: clientId,
      aud: audience,
      sub: '110169484474386276334',
      email: 'alice@example.com',
      email_verified: true,
      at_hash: 'X_B3Z3Fi4udZ2mf75RWo3w',
      name: 'Alice Doe',
      given_name: 'Alice',
      family_name: 'Doe',
      iat: now,
      exp: now + 3600
    }
  }
}

/** A plain JWT such as a Google ID token sent to a service: typ JWT, no jti; nothing grants roles or scopes. */
export const googleProfile: TokenProfileOptions = {
  tokenTypes: ['JWT'],
  requiredClaims: ['sub', 'iat']
}
