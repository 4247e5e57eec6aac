import type { FastifyRequest } from 'fastify'
import type { Clock } from '../lib/clock.js'
import { CORE_OPTION_NAMES } from '../lib/core/core-option-keys.js'
import type { AuthCoreOptions } from '../lib/core/core-options.js'
import { optionalString } from '../lib/options/option-values.js'
import { InvalidOptionError } from '../lib/errors.js'
import { optionNames, refuseUnknownKeys, type KnownKeys } from '../lib/options/known-keys.js'
import { keyDefinitionsOf } from '../lib/tokens/derived-keys.js'
import { clientAddressOf, type ClientAddressOf } from './client-address.js'
import { weakSecretPolicy } from '../lib/tokens/weak-secret-policy.js'
import { deriveCsrfKeys, type CsrfKeys } from './csrf-keys.js'
import { resolveDecoratorNames, type ResolvedDecoratorNames, type TokenAuthDecoratorsOption } from './decorator-names.js'
import { REGISTER_OPTION_NAMES } from './register-options.js'
import { shownValue } from '../lib/shown-value.js'

export interface TokenAuthOptions extends AuthCoreOptions, TokenAuthDecoratorsOption {
  /** Realm in `WWW-Authenticate`. Default 'api'. */
  realm?: string | undefined
  /** Replaces the system clock (tests move time with it instead of sleeping). */
  clock?: Clock | undefined
  /**
   * The client address the login throttle and the refresh/logout rate limits count a
   * request against. Default `request.ip` (behind a proxy, set Fastify's `trustProxy`).
   * When it throws or returns no non-empty string, `request.ip` is used and a warning logged once.
   */
  clientAddress?: ((request: FastifyRequest) => string) | undefined
  transport?: {
    /** Accept `Authorization: Bearer`. Default true. */
    header?: boolean | undefined
    /** Accept the access-token cookie. Default true. */
    cookie?: boolean | undefined
    /** When both arrive: undefined (default) answers 400 invalid_request (RFC 6750 §2). */
    prefer?: 'header' | 'cookie' | undefined
  } | undefined
  cookie?: {
    /** Default '__Host-access-token'. */
    accessTokenName?: string | undefined
    /** Readable CSRF cookie the page echoes in the CSRF header. Default '__Host-csrf-token'. */
    csrfName?: string | undefined
    /** Refresh-token cookie, scoped to the login routes' prefix. Default '__Secure-refresh-token'. */
    refreshTokenName?: string | undefined
    /** Device cookie (a browser that signed in before keeps its own login allowance), scoped like the refresh cookie. Default '__Secure-device'. */
    deviceName?: string | undefined
    /** Default 'strict'. */
    sameSite?: 'strict' | 'lax' | undefined
    /** Default true; false (plain-HTTP development off localhost) needs names without __Host-/__Secure-. */
    secure?: boolean | undefined
  } | undefined
  csrf?: {
    /** Header that must echo the CSRF cookie. Default 'x-csrf-token'. */
    headerName?: string | undefined
    /**
     * Origins allowed on cookie-authenticated unsafe requests and on login (a `Sec-Fetch-Site:
     * same-site` request is allowed only from one of these). Default: the request's own origin.
     */
    allowedOrigins?: string[] | undefined
    /**
     * Key (32+ random bytes) that binds CSRF tokens to sessions. Default: derived (HKDF) from
     * the token keys' secret material. Required with cookie transport when every key is public.
     * Checked like `secret`: a guessable one is refused unless allowWeakSecret applies.
     */
    secret?: string | Buffer | undefined
  } | undefined
}

export interface CookieNames { accessToken: string, csrf: string, refreshToken: string, device: string }

export interface ResolvedTokenAuthOptions {
  realm: string
  clientAddress: ClientAddressOf
  transport: { header: boolean, cookie: boolean, prefer: 'header' | 'cookie' | undefined }
  cookie: { names: CookieNames, sameSite: 'strict' | 'lax', secure: boolean }
  /** keys: undefined only when the cookie transport is off and no key has secret material. */
  csrf: { headerName: string, allowedOrigins: string[] | undefined, keys: CsrfKeys | undefined }
  /** Options whose guessable secret was accepted (tests only), for one warning at startup. */
  weakSecrets: string[]
  /** The names tokenAuth decorates the app and its requests with. */
  decorators: ResolvedDecoratorNames
}

type PluginOwnOptions = Omit<TokenAuthOptions, keyof AuthCoreOptions>
const PLUGIN_OPTIONS: KnownKeys<PluginOwnOptions> = { realm: true, clock: true, clientAddress: true, transport: true, cookie: true, csrf: true, decorators: true }
const PLUGIN_OPTION_NAMES = optionNames(PLUGIN_OPTIONS)
const TOKEN_AUTH_OPTION_NAMES = Object.freeze([...CORE_OPTION_NAMES, ...PLUGIN_OPTION_NAMES, ...REGISTER_OPTION_NAMES])

const TRANSPORT_OPTIONS: KnownKeys<NonNullable<TokenAuthOptions['transport']>> = { header: true, cookie: true, prefer: true }
const COOKIE_OPTIONS: KnownKeys<NonNullable<TokenAuthOptions['cookie']>> = { accessTokenName: true, csrfName: true, refreshTokenName: true, deviceName: true, sameSite: true, secure: true }
const CSRF_OPTIONS: KnownKeys<NonNullable<TokenAuthOptions['csrf']>> = { headerName: true, allowedOrigins: true, secret: true }
const NESTED_OPTIONS: ReadonlyArray<[keyof TokenAuthOptions, readonly string[]]> = [
  ['transport', optionNames(TRANSPORT_OPTIONS)],
  ['cookie', optionNames(COOKIE_OPTIONS)],
  ['csrf', optionNames(CSRF_OPTIONS)]
]

/**
 * The core's share of tokenAuth's options, after refusing any name at the top level that
 * is neither the core's, the plugin's nor Fastify's `register`'s (`prefix`, `logLevel`, …).
 */
export function coreOptionsOf (options: TokenAuthOptions): AuthCoreOptions {
  refuseUnknownKeys(options, TOKEN_AUTH_OPTION_NAMES)
  const core: Record<string, unknown> = {}
  // Read as the plugin's own options are, inherited ones included (a class's getters, an object
  // made from defaults): taking own properties only would drop an inherited `audience` in silence.
  for (const name of CORE_OPTION_NAMES) {
    const value = (options as Record<string, unknown>)[name]
    if (value !== undefined) core[name] = value
  }
  return core as AuthCoreOptions
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const REALM = /^[\x20-\x7e]{1,64}$/
const HEADER_NAME = /^[a-z0-9-]{1,64}$/

function flag (value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${name} must be true or false`)
  return value
}

function oneOf<T extends string> (value: unknown, name: string, allowed: readonly T[], fallback: T | undefined): T | undefined {
  if (value === undefined) return fallback
  if (!allowed.includes(value as T)) throw new InvalidOptionError(`${name} must be one of ${allowed.map((v) => `'${v}'`).join(', ')}; got ${shownValue(value)}`)
  return value as T
}

function cookieOptions (options: TokenAuthOptions['cookie'] = {}): ResolvedTokenAuthOptions['cookie'] {
  const secure = flag(options.secure, 'cookie.secure', true)
  const names = {
    accessToken: optionalString(options.accessTokenName, 'cookie.accessTokenName') ?? (secure ? '__Host-access-token' : 'access-token'),
    csrf: optionalString(options.csrfName, 'cookie.csrfName') ?? (secure ? '__Host-csrf-token' : 'csrf-token'),
    refreshToken: optionalString(options.refreshTokenName, 'cookie.refreshTokenName') ?? (secure ? '__Secure-refresh-token' : 'refresh-token'),
    device: optionalString(options.deviceName, 'cookie.deviceName') ?? (secure ? '__Secure-device' : 'device')
  }
  for (const [key, name] of Object.entries(names)) {
    if (!COOKIE_NAME.test(name)) throw new InvalidOptionError(`cookie.${key}Name is not a valid cookie name: ${shownValue(name)}`)
    // Browsers drop __Host-/__Secure- cookies that lack Secure; fail at boot instead of at login.
    if (!secure && /^__(Host|Secure)-/.test(name)) throw new InvalidOptionError(`cookie.secure is false, so cookie ${JSON.stringify(name)} cannot carry a __Host- or __Secure- prefix`)
  }
  for (const name of [names.refreshToken, names.device]) {
    if (/^__Host-/.test(name)) throw new InvalidOptionError(`cookie ${JSON.stringify(name)} is scoped to the login routes' path, so it cannot use the __Host- prefix (use __Secure-)`)
  }
  if (new Set(Object.values(names)).size !== 4) throw new InvalidOptionError('the four cookie names must differ')
  return { names, secure, sameSite: oneOf(options.sameSite, 'cookie.sameSite', ['strict', 'lax'], 'strict') as 'strict' | 'lax' }
}

/** Validates the plugin's own options at registration: a bad configuration fails `ready()`, never a request. */
export function resolveTokenAuthOptions (options: TokenAuthOptions): ResolvedTokenAuthOptions {
  for (const [name, names] of NESTED_OPTIONS) {
    if (options[name] !== undefined) refuseUnknownKeys(options[name], names, { path: name })
  }
  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || !REALM.test(realm) || realm.includes('"') || realm.includes('\\')) {
    throw new InvalidOptionError('realm must be 1 to 64 printable characters without quotes or backslashes')
  }
  const transport = options.transport ?? {}
  const resolvedTransport = {
    header: flag(transport.header, 'transport.header', true),
    cookie: flag(transport.cookie, 'transport.cookie', true),
    prefer: oneOf(transport.prefer, 'transport.prefer', ['header', 'cookie'], undefined)
  }
  if (!resolvedTransport.header && !resolvedTransport.cookie) throw new InvalidOptionError('transport.header and transport.cookie cannot both be false')
  const csrf = options.csrf ?? {}
  const headerName = (optionalString(csrf.headerName, 'csrf.headerName') ?? 'x-csrf-token').toLowerCase()
  if (!HEADER_NAME.test(headerName)) throw new InvalidOptionError('csrf.headerName must be a header name')
  if (csrf.allowedOrigins !== undefined && (!Array.isArray(csrf.allowedOrigins) || !csrf.allowedOrigins.every((origin) => typeof origin === 'string' && URL.canParse(origin)))) {
    throw new InvalidOptionError('csrf.allowedOrigins must be an array of origins such as \'https://app.example\'')
  }
  const weakSecrets: string[] = []
  const policy = weakSecretPolicy(options.allowWeakSecret, (name) => { weakSecrets.push(name) })
  const csrfKeys = deriveCsrfKeys({ csrfSecret: csrf.secret, definitions: keyDefinitionsOf(options), policy })
  if (csrfKeys === undefined && resolvedTransport.cookie) {
    throw new InvalidOptionError('no key of this service has secret material (every key is public, or tokens come only from `issuers`), so there is nothing to bind CSRF tokens to sessions: set csrf.secret (32+ random bytes) or transport.cookie: false')
  }
  return {
    realm,
    clientAddress: clientAddressOf(options.clientAddress),
    transport: resolvedTransport,
    cookie: cookieOptions(options.cookie),
    csrf: { headerName, allowedOrigins: csrf.allowedOrigins?.map((origin) => new URL(origin).origin), keys: csrfKeys },
    decorators: resolveDecoratorNames(options.decorators),
    weakSecrets
  }
}
