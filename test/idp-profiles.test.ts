import { SignJWT } from 'jose'
import t from 'tap'
import type { TokenProfileOptions } from 'fastify-token-auth'
import { bearer } from './helpers/forge.js'
import { auth0AccessToken, auth0Profile, cognitoAccessToken, cognitoProfile, entraAccessToken, entraProfile, googleIdToken, IDP_CLIENT_ID, keycloakAccessToken, keycloakProfile, type IdpToken, type IdpTokenInput } from './helpers/idp-tokens.js'
import { generateIssuerKey, startLocalIssuer, type LocalIssuer } from './helpers/local-issuer.js'
import { API_AUDIENCE, assertRefused, buildResourceServer, issuerOptions } from './helpers/resource-server.js'

// Tokens shaped like those of Keycloak, Auth0, Cognito and Entra ID, signed locally with
// jose under RS256 by an issuer on 127.0.0.1, verified over HTTP with the profile the
// README's recipe for that provider gives; and refused by the RFC 9068 default.

async function signIdpToken (issuer: LocalIssuer, token: IdpToken): Promise<string> {
  const key = issuer.keys[0]
  return await new SignJWT(token.claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...token.header }).sign(key.privateKey)
}

interface Provider {
  name: string
  make: (input: IdpTokenInput) => IdpToken
  profile: TokenProfileOptions
  /** Cognito access tokens carry no aud. */
  audience: string | false
  roles: string[]
  scope: string
  /** Why the RFC 9068 default refuses the provider's token. */
  defaultRefusal: RegExp
}

const PROVIDERS: Provider[] = [
  { name: 'Keycloak', make: keycloakAccessToken, profile: keycloakProfile, audience: API_AUDIENCE, roles: ['default-roles-demo', 'offline_access', 'uma_authorization', 'orders-admin'], scope: 'openid email profile orders:read', defaultRefusal: /wrong token type/ },
  { name: 'Auth0', make: auth0AccessToken, profile: auth0Profile, audience: API_AUDIENCE, roles: ['admin', 'support'], scope: 'openid profile email read:orders write:orders', defaultRefusal: /wrong token type/ },
  { name: 'Auth0 (RFC 9068 token profile)', make: (input) => auth0AccessToken({ ...input, tokenProfile: 'rfc9068' }), profile: auth0Profile, audience: API_AUDIENCE, roles: ['admin', 'support'], scope: 'openid profile email read:orders write:orders', defaultRefusal: /^$/ },
  { name: 'Cognito', make: cognitoAccessToken, profile: cognitoProfile, audience: false, roles: ['admins', 'us-east-1_AbCdEf123_Google'], scope: 'orders/read orders/write openid email', defaultRefusal: /wrong token type/ },
  { name: 'Entra ID', make: entraAccessToken, profile: entraProfile, audience: API_AUDIENCE, roles: ['Orders.Admin'], scope: 'Orders.Read Orders.Write', defaultRefusal: /wrong token type/ }
]

for (const provider of PROVIDERS) {
  t.test(`${provider.name}: the recipe profile verifies its access token and maps its roles and scopes into request.user`, async (t) => {
    const issuer = await startLocalIssuer(t, { keys: [generateIssuerKey('RS256')] })
    const input = { issuer: issuer.issuer, audience: API_AUDIENCE, now: Math.floor(Date.now() / 1000) }
    const token = await signIdpToken(issuer, provider.make(input))
    const app = await buildResourceServer(t, [issuerOptions(issuer, { audience: provider.audience, profile: provider.profile })])
    const me = await app.inject({ url: '/me', headers: bearer(token) })
    t.equal(me.statusCode, 200)
    t.same(me.json().roles, provider.roles)
    t.equal(me.json().scope, provider.scope)

    const strict = await buildResourceServer(t, [issuerOptions(issuer, { audience: provider.audience === false ? false : API_AUDIENCE })])
    const refused = await strict.inject({ url: '/me', headers: bearer(token) })
    if (provider.defaultRefusal.source === '^$') t.equal(refused.statusCode, 200, 'already an RFC 9068 token')
    else assertRefused(t, refused, { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: provider.defaultRefusal })
  })
}

t.test('requireRole and requireScope act on the mapped roles and scopes', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: [generateIssuerKey('RS256')] })
  const app = await buildResourceServer(t, [issuerOptions(issuer, { profile: auth0Profile })])
  const now = Math.floor(Date.now() / 1000)
  const admin = await signIdpToken(issuer, auth0AccessToken({ issuer: issuer.issuer, audience: API_AUDIENCE, now }))
  t.equal((await app.inject({ url: '/admin', headers: bearer(admin) })).statusCode, 200, 'admin from the namespaced claim')
  assertRefused(t, await app.inject({ url: '/scoped', headers: bearer(admin) }), { status: 403, code: 'FST_TOKEN_AUTH_INSUFFICIENT_SCOPE' })
})

t.test('the client check: a Cognito token of another app client, and a Cognito ID token, are refused', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: [generateIssuerKey('RS256')] })
  const app = await buildResourceServer(t, [issuerOptions(issuer, { audience: false, profile: cognitoProfile })])
  const now = Math.floor(Date.now() / 1000)
  const other = await signIdpToken(issuer, cognitoAccessToken({ issuer: issuer.issuer, audience: API_AUDIENCE, now, clientId: 'someone-else' }))
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(other) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /issued to another client/ })
  // An ID token names its client in aud only; signed by the same keys, it must not pass for an access token.
  const idToken = await signIdpToken(issuer, { header: {}, claims: { sub: 's', iss: issuer.issuer, aud: IDP_CLIENT_ID, token_use: 'id', iat: now, exp: now + 600, jti: 'j' } })
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(idToken) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /client claim missing/ })
})

t.test('an ID token is refused where an access token is expected, through the audience', async (t) => {
  const issuer = await startLocalIssuer(t, { keys: [generateIssuerKey('RS256')] })
  const app = await buildResourceServer(t, [issuerOptions(issuer, { profile: { tokenTypes: ['JWT'], requiredClaims: ['sub', 'iat'] } })])
  const idToken = await signIdpToken(issuer, googleIdToken({ issuer: issuer.issuer, audience: IDP_CLIENT_ID, now: Math.floor(Date.now() / 1000) }))
  assertRefused(t, await app.inject({ url: '/me', headers: bearer(idToken) }), { status: 401, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', description: /wrong audience/ })
})
