import t from 'tap'
import { MAX_CLAIM_ENTRIES } from '../lib/issuers/claim-path.js'
import { resolveTokenProfile, type TokenProfileOptions } from '../lib/issuers/token-profile.js'
import {
  auth0AccessToken, auth0Profile, AUTH0_ROLES_CLAIM, cognitoAccessToken, cognitoProfile, entraAccessToken, entraProfile,
  googleIdToken, googleProfile, IDP_CLIENT_ID, keycloakAccessToken, keycloakProfile, type IdpTokenInput
} from './helpers/idp-tokens.js'

const NOW = 1_790_000_000
const base = (more: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ sub: 'user-1', jti: 'j-1', iat: NOW, exp: NOW + 600, ...more })

const profile = (options: TokenProfileOptions = {}): ReturnType<typeof resolveTokenProfile> => resolveTokenProfile(options, 'issuers[0].profile')
const invalid = (reason: string): { code: string, message: string } =>
  ({ code: 'FST_TOKEN_AUTH_INVALID_TOKEN', message: `The access token is invalid: ${reason}` })
const refused = (message: string): { code: string, message: string } =>
  ({ code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: `fastify-token-auth: ${message}` })

t.test('the default profile is RFC 9068: typ at+jwt only, and sub, jti, iat and exp required', async (t) => {
  const strict = profile()
  t.same(strict.relaxations, [])
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) t.ok(strict.acceptsTyp(typ), typ)
  for (const typ of [undefined, null, 'JWT', 'jwt', '', 'at+jwt ', 'application/jwt', 'x-application/at+jwt', 42, ['at+jwt'], { typ: 'at+jwt' }]) {
    t.notOk(strict.acceptsTyp(typ), JSON.stringify(typ) ?? 'undefined')
  }
  for (const name of ['sub', 'jti', 'iat', 'exp']) {
    t.throws(() => strict.apply(base({ [name]: undefined })), invalid(`${name} claim missing`), `${name} undefined`)
    const { [name]: _gone, ...without } = base()
    t.throws(() => strict.apply(without), invalid(`${name} claim missing`), `${name} absent`)
    t.throws(() => strict.apply(base({ [name]: null })), invalid(`${name} claim missing`), `${name} null`)
  }
  t.same(strict.apply(base({ roles: ['admin'], scope: 'read write' })), base({ roles: ['admin'], scope: 'read write' }))
  t.same(strict.apply(base()), base(), 'no roles or scope key when the token has none')
  t.ok(Object.isFrozen(strict) && Object.isFrozen(strict.relaxations))
})

t.test('a required claim inherited from the prototype does not count as present', async (t) => {
  const strict = profile({ requiredClaims: ['sub', 'jti', 'iat', 'constructor'] })
  t.throws(() => strict.apply(base()), invalid('constructor claim missing'))
  t.same(strict.apply(base({ constructor: 'x' })), base({ constructor: 'x' }))
  const inherited = Object.assign(Object.create({ sub: 'from-prototype' }) as Record<string, unknown>, base({ sub: undefined }))
  delete inherited.sub
  t.throws(() => strict.apply(inherited), invalid('sub claim missing'))
})

t.test('every relaxation is named, once, in the order of the options', async (t) => {
  t.same(profile({ tokenTypes: ['at+jwt', 'JWT'] }).relaxations, ['typ "JWT" accepted'])
  t.same(profile({ tokenTypes: ['JWT', 'jwt', 'application/JWT'] }).relaxations, ['typ "JWT" accepted'], 'spellings of one type name it once')
  t.same(profile({ tokenTypes: ['application/at+jwt', 'AT+JWT'] }).relaxations, [], 'spellings of at+jwt relax nothing')
  t.same(profile({ allowMissingTokenType: true }).relaxations, ['tokens without typ accepted'])
  t.same(profile({ allowMissingTokenType: false }).relaxations, [])
  t.same(profile({ requiredClaims: ['sub', 'iat'] }).relaxations, ['jti not required'])
  t.same(profile({ requiredClaims: ['jti'] }).relaxations, ['sub not required', 'iat not required'])
  t.same(profile({ requiredClaims: [] }).relaxations, ['sub not required', 'jti not required', 'iat not required'])
  t.same(profile({ requiredClaims: ['sub', 'jti', 'iat', 'exp', 'tid'] }).relaxations, [], 'more claims, or exp, relax nothing')
  t.same(profile({ clientIds: ['a'], roles: 'x.y', scopes: 'scp' }).relaxations, [], 'sources and the client check relax nothing')
  t.same(profile({ tokenTypes: ['JWT', 'at+jwt+custom'], allowMissingTokenType: true, requiredClaims: ['sub'] }).relaxations,
    ['typ "JWT" accepted', 'typ "at+jwt+custom" accepted', 'tokens without typ accepted', 'jti not required', 'iat not required'])
})

t.test('tokenTypes replaces at+jwt rather than adding to it, and compares like typMatches', async (t) => {
  const jwtOnly = profile({ tokenTypes: ['application/JWT'] })
  for (const typ of ['JWT', 'jwt', 'application/jwt']) t.ok(jwtOnly.acceptsTyp(typ), typ)
  for (const typ of ['at+jwt', undefined, 'JOSE']) t.notOk(jwtOnly.acceptsTyp(typ), String(typ))
  const missingToo = profile({ allowMissingTokenType: true })
  t.ok(missingToo.acceptsTyp(undefined))
  t.ok(missingToo.acceptsTyp('at+jwt'))
  t.notOk(missingToo.acceptsTyp(null), 'a typ of null is present, and not a type')
  t.notOk(missingToo.acceptsTyp(''), 'an empty typ is present, and not a type')
  t.notOk(missingToo.acceptsTyp('JWT'), 'allowing no typ does not allow any typ')
})

t.test('exp is required whatever requiredClaims says', async (t) => {
  const loose = profile({ requiredClaims: [] })
  t.throws(() => loose.apply({ sub: 'x' }), invalid('exp claim missing'))
  t.same(loose.apply({ exp: NOW }), { exp: NOW })
  const extra = profile({ requiredClaims: ['tid', 'exp', 'tid'] })
  t.throws(() => extra.apply(base()), invalid('tid claim missing'))
  t.throws(() => extra.apply({ tid: 't' }), invalid('exp claim missing'), 'exp is checked first')
  t.same(extra.apply({ tid: 't', exp: NOW }), { tid: 't', exp: NOW })
})

t.test('every option mistake is refused at startup, by its path', async (t) => {
  const cases: Array<[unknown, string]> = [
    [null, 'issuers[0].profile must be an object'],
    ['strict', 'issuers[0].profile must be an object'],
    [[], 'issuers[0].profile must be an object'],
    [{ tokenType: ['JWT'] }, 'issuers[0].profile.tokenType is not an option; did you mean issuers[0].profile.tokenTypes?'],
    [{ requiredClaim: ['sub'] }, 'issuers[0].profile.requiredClaim is not an option; did you mean issuers[0].profile.requiredClaims?'],
    [{ clientId: ['a'] }, 'issuers[0].profile.clientId is not an option; did you mean issuers[0].profile.clientIds?'],
    [{ scope: 'scp' }, 'issuers[0].profile.scope is not an option; did you mean issuers[0].profile.scopes?'],
    [{ audience: 'x' }, 'issuers[0].profile.audience is not an option'],
    [{ tokenTypes: 'JWT' }, 'issuers[0].profile.tokenTypes must be a non-empty array of non-empty strings; got "JWT"'],
    [{ tokenTypes: [] }, 'issuers[0].profile.tokenTypes must be a non-empty array of non-empty strings; got an array'],
    [{ tokenTypes: [''] }, 'issuers[0].profile.tokenTypes must be a non-empty array of non-empty strings; got an array'],
    [{ tokenTypes: ['JWT', 1] }, 'issuers[0].profile.tokenTypes must be a non-empty array of non-empty strings; got an array'],
    [{ tokenTypes: ['application/'] }, 'issuers[0].profile.tokenTypes must not hold an empty media type; got "application/"'],
    [{ tokenTypes: null }, 'issuers[0].profile.tokenTypes must be a non-empty array of non-empty strings; got null'],
    [{ allowMissingTokenType: 'yes' }, 'issuers[0].profile.allowMissingTokenType must be true or false; got "yes"'],
    [{ allowMissingTokenType: 1 }, 'issuers[0].profile.allowMissingTokenType must be true or false; got 1'],
    [{ allowMissingTokenType: null }, 'issuers[0].profile.allowMissingTokenType must be true or false; got null'],
    [{ scopes: null }, "issuers[0].profile.scopes must be a claim path such as 'realm_access.roles' or a function (claims) => value; got null"],
    [{ requiredClaims: null }, 'issuers[0].profile.requiredClaims must be an array of non-empty strings; got null'],
    [{ requiredClaims: 'sub' }, 'issuers[0].profile.requiredClaims must be an array of non-empty strings; got "sub"'],
    [{ requiredClaims: ['sub', ''] }, 'issuers[0].profile.requiredClaims must be an array of non-empty strings; got an array'],
    [{ requiredClaims: [null] }, 'issuers[0].profile.requiredClaims must be an array of non-empty strings; got an array'],
    [{ roles: 42 }, "issuers[0].profile.roles must be a claim path such as 'realm_access.roles' or a function (claims) => value; got 42"],
    [{ roles: ['roles'] }, "issuers[0].profile.roles must be a claim path such as 'realm_access.roles' or a function (claims) => value; got an array"],
    [{ roles: null }, "issuers[0].profile.roles must be a claim path such as 'realm_access.roles' or a function (claims) => value; got null"],
    [{ roles: '' }, "issuers[0].profile.roles must be a claim path such as 'realm_access.roles', with no empty part; got \"\""],
    [{ roles: 'realm_access..roles' }, "issuers[0].profile.roles must be a claim path such as 'realm_access.roles', with no empty part; got \"realm_access..roles\""],
    [{ scopes: '.scp' }, "issuers[0].profile.scopes must be a claim path such as 'realm_access.roles', with no empty part; got \".scp\""],
    [{ scopes: 'scp.' }, "issuers[0].profile.scopes must be a claim path such as 'realm_access.roles', with no empty part; got \"scp.\""],
    [{ roles: AUTH0_ROLES_CLAIM }, `issuers[0].profile.roles looks like a namespaced claim name, which a dot path would split at its dots; use a function: (claims) => claims["${AUTH0_ROLES_CLAIM}"]`],
    [{ clientIds: [] }, 'issuers[0].profile.clientIds must be a non-empty array of non-empty strings; got an array'],
    [{ clientIds: 'orders-web' }, 'issuers[0].profile.clientIds must be a non-empty array of non-empty strings; got "orders-web"'],
    [{ clientIds: [''] }, 'issuers[0].profile.clientIds must be a non-empty array of non-empty strings; got an array']
  ]
  for (const [options, message] of cases) t.throws(() => resolveTokenProfile(options, 'issuers[0].profile'), refused(message), message)
  t.throws(() => resolveTokenProfile({ tokenTypes: 'JWT' }, 'profile'), refused('profile.tokenTypes must be a non-empty array of non-empty strings; got "JWT"'), 'the name given is the path')
})

t.test('undefined options take their defaults', async (t) => {
  const strict = resolveTokenProfile({ tokenTypes: undefined, allowMissingTokenType: undefined, requiredClaims: undefined, roles: undefined, scopes: undefined, clientIds: undefined }, 'p')
  t.same(strict.relaxations, [])
  t.notOk(strict.acceptsTyp('JWT'))
  t.throws(() => strict.apply(base({ jti: undefined })), invalid('jti claim missing'))
  t.same(strict.apply(base({ roles: 'admin', scope: 'a' })), base({ roles: ['admin'], scope: 'a' }))
})

t.test('the options are copied: changing the arrays afterwards changes nothing', async (t) => {
  const options = { tokenTypes: ['JWT'], requiredClaims: ['sub'], clientIds: ['a'] }
  const copied = profile(options)
  options.tokenTypes.push('at+jwt')
  options.requiredClaims.push('tid')
  options.clientIds.push('b')
  t.notOk(copied.acceptsTyp('at+jwt'))
  t.same(copied.apply({ sub: 's', exp: NOW, azp: 'a' }), { sub: 's', exp: NOW, azp: 'a' })
  t.throws(() => copied.apply({ sub: 's', exp: NOW, azp: 'b' }), invalid('token was issued to another client'))
})

t.test('dot paths follow own properties only, never prototypes or array indexes', async (t) => {
  const nested = profile({ roles: 'realm_access.roles', scopes: 'a.b.c' })
  t.same(nested.apply(base({ realm_access: { roles: ['x', 'y'] }, a: { b: { c: 's1 s2' } } })).roles, ['x', 'y'])
  t.equal(nested.apply(base({ a: { b: { c: 's1 s2' } } })).scope, 's1 s2')
  const nothing = [
    base(),
    base({ realm_access: null }),
    base({ realm_access: 'roles' }),
    base({ realm_access: ['roles'] }),
    base({ realm_access: { roles: null } }),
    base({ realm_access: { roles: 7 } }),
    base({ realm_access: { roles: { admin: true } } }),
    base({ realm_access: { roles: [] } }),
    base({ realm_access: { roles: [1, null, {}, ['admin'], ''] } }),
    base({ realm_access: Object.create({ roles: ['inherited'] }) })
  ]
  for (const claims of nothing) t.notOk(Object.hasOwn(nested.apply(claims), 'roles'), JSON.stringify(claims))
  for (const path of ['__proto__', 'constructor', 'toString', '__proto__.constructor', 'constructor.name', 'sub.length', 'hasOwnProperty']) {
    const result = profile({ roles: path, scopes: path }).apply(base())
    t.notOk(Object.hasOwn(result, 'roles'), path)
    t.notOk(Object.hasOwn(result, 'scope'), path)
  }
  t.notOk(Object.hasOwn(profile({ roles: 'groups.0' }).apply(base({ groups: ['admin'] })), 'roles'), 'arrays are not indexed')
  // A JSON payload may carry an own "__proto__" member; reading it is reading a claim.
  const parsed = JSON.parse('{"sub":"s","jti":"j","iat":1,"exp":2,"__proto__":{"roles":["own"]}}') as Record<string, unknown>
  t.same(profile({ roles: '__proto__.roles' }).apply(parsed).roles, ['own'])
  t.same(profile({ roles: 'cognito:groups' }).apply(base({ 'cognito:groups': ['g'] })).roles, ['g'], 'a colon is part of a name')
})

t.test('an own "__proto__" claim is copied as a claim, not as a prototype', async (t) => {
  const parsed = JSON.parse('{"sub":"s","jti":"j","iat":1,"exp":2,"__proto__":{"polluted":true}}') as Record<string, unknown>
  const result = profile().apply(parsed)
  t.ok(Object.hasOwn(result, '__proto__'))
  t.equal(Object.getPrototypeOf(result), Object.prototype)
  t.equal((result as { polluted?: unknown }).polluted, undefined)
  t.equal(({} as { polluted?: unknown }).polluted, undefined)
})

t.test('roles: one string is one role, arrays keep their distinct non-empty strings in order', async (t) => {
  const roles = (value: unknown): unknown => profile().apply(base({ roles: value })).roles
  t.same(roles('admin'), ['admin'])
  t.same(roles('admin support'), ['admin support'], 'a role string is not split')
  t.same(roles(['b', 'a', 'b', 1, null, '', 'c', { x: 1 }, ['d'], true]), ['b', 'a', 'c'])
  for (const value of ['', [], [1, 2], 0, 1, true, null, {}, { admin: true }]) t.equal(roles(value), undefined, JSON.stringify(value))
})

t.test('scopes: a space-separated string or an array, joined into one scope string', async (t) => {
  const scope = (value: unknown, options: TokenProfileOptions = {}): unknown => profile(options).apply(base({ scope: value })).scope
  t.equal(scope('read write'), 'read write')
  t.equal(scope('  read   write read  '), 'read write', 'empties collapse and duplicates go')
  t.equal(scope(['read', 'write', 'read', 7, null, '']), 'read write')
  t.equal(scope(['read write', 'admin']), 'admin', 'an entry with a space would become two scopes: dropped')
  t.equal(scope('read\twrite'), 'read\twrite', 'only spaces separate (RFC 6749 §3.3)')
  for (const value of ['', '   ', [], [' '], 1, true, null, {}, { read: true }]) t.equal(scope(value), undefined, JSON.stringify(value))
})

t.test("the token's own roles and scope claims are replaced by what the sources find", async (t) => {
  const entra = profile({ scopes: 'scp', roles: 'realm_access.roles' })
  const result = entra.apply(base({ scope: 'admin', roles: ['admin'], scp: 'read' }))
  t.equal(result.scope, 'read')
  t.notOk(Object.hasOwn(result, 'roles'), 'a roles claim the source does not point to is not kept')
  t.equal(result.scp, 'read', 'the source claim itself stays')
  const nothing = profile().apply(base({ roles: 17, scope: { admin: true } }))
  t.notOk(Object.hasOwn(nothing, 'roles'), 'a malformed roles claim is dropped rather than passed on')
  t.notOk(Object.hasOwn(nothing, 'scope'))
})

t.test('function sources read anything, and may combine claims', async (t) => {
  const seen: unknown[] = []
  const combined = profile({
    roles: (claims) => {
      seen.push(claims)
      const realm = (claims.realm_access as { roles?: unknown } | undefined)?.roles
      return [...(Array.isArray(realm) ? realm : []), ...(Array.isArray(claims.groups) ? claims.groups : [])]
    },
    scopes: (claims) => claims.permissions
  })
  const claims = base({ realm_access: { roles: ['a', 'b'] }, groups: ['b', 'c', 3], permissions: ['read:x', 'write:x'] })
  const result = combined.apply(claims)
  t.same(result.roles, ['a', 'b', 'c'])
  t.equal(result.scope, 'read:x write:x')
  t.equal(seen[0], claims, 'the function gets the claims as given')
  for (const value of [undefined, null, 5, { a: 1 }, '', []]) {
    const odd = profile({ roles: () => value, scopes: () => value }).apply(base())
    t.notOk(Object.hasOwn(odd, 'roles') || Object.hasOwn(odd, 'scope'), String(value))
  }
  t.same(profile({ roles: () => 'solo' }).apply(base()).roles, ['solo'])
})

t.test('a source function that throws is an application bug: its error comes out unchanged', async (t) => {
  const bug = new RangeError('application bug')
  t.throws(() => profile({ roles: () => { throw bug } }).apply(base()), bug)
  t.throws(() => profile({ scopes: () => { throw bug } }).apply(base()), bug)
  t.throws(() => profile({ roles: () => { throw bug } }).apply(base({ sub: undefined })), invalid('sub claim missing'), 'claims are checked before sources run')
})

t.test('clientIds: every client claim present must be listed, and one must be present', async (t) => {
  const client = profile({ clientIds: ['orders-web', 'orders-cli'] })
  for (const claim of ['client_id', 'azp', 'appid']) {
    t.same(client.apply(base({ [claim]: 'orders-cli' })), base({ [claim]: 'orders-cli' }), `${claim} listed`)
    t.throws(() => client.apply(base({ [claim]: 'other' })), invalid('token was issued to another client'), `${claim} unlisted`)
    for (const odd of [null, 7, ['orders-web'], { id: 'orders-web' }, '', 'ORDERS-WEB']) {
      t.throws(() => client.apply(base({ [claim]: odd })), invalid('token was issued to another client'), `${claim} ${JSON.stringify(odd)}`)
    }
  }
  t.same(client.apply(base({ client_id: 'orders-web', azp: 'orders-cli' })).azp, 'orders-cli', 'two listed clients')
  t.throws(() => client.apply(base({ client_id: 'orders-web', azp: 'other' })), invalid('token was issued to another client'), 'one listed, one not')
  t.throws(() => client.apply(base({ azp: 'other', appid: 'orders-web' })), invalid('token was issued to another client'), 'one not listed, one listed')
  t.throws(() => client.apply(base()), invalid('client claim missing'))
  t.throws(() => client.apply(base({ aud: 'orders-web', cid: 'orders-web' })), invalid('client claim missing'), 'aud and other names do not count')
  t.throws(() => client.apply(Object.assign(Object.create({ azp: 'orders-web' }) as Record<string, unknown>, base())), invalid('client claim missing'), 'an inherited azp does not count')
  t.same(profile().apply(base({ azp: 'anyone' })).azp, 'anyone', 'without clientIds, any client')
})

t.test('no token makes the profile keep more than 256 roles or scopes', async (t) => {
  t.equal(MAX_CLAIM_ENTRIES, 256)
  const many = Array.from({ length: 10_000 }, (_, i) => `r${i}`)
  const result = profile().apply(base({ roles: many, scope: many.join(' ') }))
  t.same(result.roles, many.slice(0, MAX_CLAIM_ENTRIES))
  t.same((result.scope as string).split(' '), many.slice(0, MAX_CLAIM_ENTRIES))
  const repeated = [...Array.from({ length: 5000 }, () => 'same'), 'other']
  t.same(profile().apply(base({ roles: repeated })).roles, ['same', 'other'], 'the cap counts distinct entries')
  const arrayScopes = profile().apply(base({ scope: many })).scope as string
  t.equal(arrayScopes.split(' ').length, MAX_CLAIM_ENTRIES)
})

t.test('apply never changes its input, and works on frozen claims', async (t) => {
  const claims = Object.freeze(base({
    realm_access: Object.freeze({ roles: Object.freeze(['a', 'a', 'b']) }),
    roles: Object.freeze(['x']),
    scope: 'b a b',
    azp: 'c'
  }))
  const before = JSON.stringify(claims)
  const keycloakLike = profile({ roles: 'realm_access.roles', clientIds: ['c'] })
  const result = keycloakLike.apply(claims)
  t.equal(JSON.stringify(claims), before)
  t.not(result, claims)
  t.notOk(Object.isFrozen(result), 'a new plain object, the caller may add to it')
  t.same(result.roles, ['a', 'b'])
  t.equal(result.scope, 'b a')
  t.not(result.realm_access, undefined)
  t.same(profile().apply(claims).roles, ['x'])
  t.not(profile().apply(claims).roles, claims.roles, 'a new roles array, not the token\'s')
})

const input: IdpTokenInput = { issuer: 'https://idp.example.com/realms/demo', audience: 'orders-api', now: NOW }

t.test('Keycloak: typ JWT, realm roles, scope string, azp', async (t) => {
  const { header, claims } = keycloakAccessToken(input)
  t.equal(claims.client_id, undefined, 'Keycloak writes azp, not client_id')
  const keycloak = profile(keycloakProfile)
  t.same(keycloak.relaxations, ['typ "JWT" accepted'])
  t.notOk(profile().acceptsTyp(header.typ), 'the default profile refuses it')
  t.ok(keycloak.acceptsTyp(header.typ))
  const result = keycloak.apply(claims)
  t.same(result.roles, ['default-roles-demo', 'offline_access', 'uma_authorization', 'orders-admin'])
  t.equal(result.scope, 'openid email profile orders:read')
  t.equal(profile({ ...keycloakProfile, clientIds: [IDP_CLIENT_ID] }).apply(claims).azp, IDP_CLIENT_ID)
  t.throws(() => profile({ ...keycloakProfile, clientIds: ['other'] }).apply(claims), invalid('token was issued to another client'))
  const clientRoles = profile({ ...keycloakProfile, roles: (c) => ((c.resource_access as Record<string, { roles?: unknown }>)[IDP_CLIENT_ID])?.roles })
  t.same(clientRoles.apply(claims).roles, ['orders-reader'], 'client roles through a function, since a client id may hold dots')
})

t.test('Auth0: both token profiles, namespaced roles, scope string, azp or client_id', async (t) => {
  const auth0 = profile(auth0Profile)
  t.same(auth0.relaxations, ['typ "JWT" accepted', 'jti not required'])
  for (const tokenProfile of ['auth0', 'rfc9068'] as const) {
    const { header, claims } = auth0AccessToken({ ...input, tokenProfile })
    t.ok(auth0.acceptsTyp(header.typ), tokenProfile)
    const result = auth0.apply(claims)
    t.same(result.roles, ['admin', 'support'], tokenProfile)
    t.equal(result.scope, 'openid profile email read:orders write:orders', tokenProfile)
    t.same(profile({ ...auth0Profile, clientIds: [IDP_CLIENT_ID] }).apply(claims).sub, claims.sub, `${tokenProfile} client`)
  }
  const { header, claims } = auth0AccessToken({ ...input, tokenProfile: 'rfc9068' })
  t.equal(header.typ, 'at+jwt')
  t.same(profile({ roles: auth0Profile.roles }).apply(claims).roles, ['admin', 'support'], 'the RFC 9068 token profile passes the strict default')
  t.throws(() => profile().apply(auth0AccessToken(input).claims), invalid('jti claim missing'), 'the Auth0 token profile has no jti')
  t.equal(profile({ ...auth0Profile, scopes: 'permissions' }).apply(claims).scope, 'read:orders write:orders', 'RBAC permissions as scopes')
})

t.test('Cognito: no typ, no aud, client_id, cognito:groups', async (t) => {
  const { header, claims } = cognitoAccessToken(input)
  t.equal(header.typ, undefined)
  t.equal(claims.aud, undefined)
  const cognito = profile(cognitoProfile)
  t.same(cognito.relaxations, ['tokens without typ accepted'])
  t.ok(cognito.acceptsTyp(header.typ))
  t.notOk(cognito.acceptsTyp('JWT'))
  const result = cognito.apply(claims)
  t.same(result.roles, ['admins', 'us-east-1_AbCdEf123_Google'])
  t.equal(result.scope, 'orders/read orders/write openid email')
  t.throws(() => cognito.apply(cognitoAccessToken({ ...input, clientId: 'another-app' }).claims), invalid('token was issued to another client'))
  // A Cognito ID token names its client in aud only: the client check keeps it out.
  const { client_id: _client, token_use: _use, ...idToken } = claims
  t.throws(() => cognito.apply({ ...idToken, aud: IDP_CLIENT_ID, token_use: 'id' }), invalid('client claim missing'))
})

t.test('Entra ID v2: typ JWT, scp string, roles array, azp, no jti', async (t) => {
  const { header, claims } = entraAccessToken(input)
  t.equal(claims.ver, '2.0')
  const entra = profile(entraProfile)
  t.same(entra.relaxations, ['typ "JWT" accepted', 'jti not required'])
  t.ok(entra.acceptsTyp(header.typ))
  const result = entra.apply(claims)
  t.same(result.roles, ['Orders.Admin'])
  t.equal(result.scope, 'Orders.Read Orders.Write')
  t.throws(() => profile().apply(claims), invalid('jti claim missing'))
  t.throws(() => entra.apply(entraAccessToken({ ...input, clientId: 'another-app' }).claims), invalid('token was issued to another client'))
  // An Entra v1 token names its client in appid.
  const { azp: _azp, ...v1 } = claims
  t.same(entra.apply({ ...v1, appid: IDP_CLIENT_ID, ver: '1.0' }).roles, ['Orders.Admin'])
})

t.test('Google-like ID token: a plain JWT with no roles and no scope', async (t) => {
  const { header, claims } = googleIdToken(input)
  t.notOk(profile().acceptsTyp(header.typ))
  t.throws(() => profile().apply(claims), invalid('jti claim missing'))
  const google = profile(googleProfile)
  t.same(google.relaxations, ['typ "JWT" accepted', 'jti not required'])
  t.ok(google.acceptsTyp(header.typ))
  const result = google.apply(claims)
  t.notOk(Object.hasOwn(result, 'roles') || Object.hasOwn(result, 'scope'))
  t.same(result, claims)
  t.throws(() => profile(keycloakProfile).apply(claims), invalid('jti claim missing'), 'a profile that keeps jti refuses it')
})

t.test('each provider token is fresh: its own jti and times from now', async (t) => {
  t.not(keycloakAccessToken(input).claims.jti, keycloakAccessToken(input).claims.jti)
  for (const token of [keycloakAccessToken(input), auth0AccessToken(input), cognitoAccessToken(input), entraAccessToken(input), googleIdToken(input)]) {
    t.equal(token.claims.iat, NOW)
    t.ok((token.claims.exp as number) > NOW)
    t.equal(token.claims.iss, input.issuer)
  }
  t.same(auth0AccessToken(input).claims.aud, ['orders-api', 'https://idp.example.com/realms/demo/userinfo'])
})
