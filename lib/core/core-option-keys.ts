import { optionNames, refuseUnknownKeys, type KnownKeys } from '../options/known-keys.js'
import type { ThrottleOptions } from '../login/throttle-policy.js'
import type { KeyDefinition } from '../tokens/key-ring.js'
import type { AuthCoreOptions } from './core-options.js'

type Nested<Name extends keyof AuthCoreOptions> = NonNullable<AuthCoreOptions[Name]>

const CORE_OPTIONS: KnownKeys<AuthCoreOptions> = {
  secret: true,
  allowWeakSecret: true,
  keys: true,
  issuers: true,
  issuer: true,
  audience: true,
  accessTokenTtl: true,
  maxTokenTtl: true,
  clockTolerance: true,
  maxTokenLength: true,
  verifiedTokenCacheSize: true,
  store: true,
  claims: true,
  passwords: true,
  throttle: true,
  login: true,
  session: true,
  revocation: true,
  onAuthEvent: true,
  mail: true,
  requireVerifiedEmail: true,
  passwordReset: true,
  emailVerification: true,
  mailThrottle: true,
  apiKeys: true,
  mfa: true
}

/** Every name the core takes at the top level of its options. */
export const CORE_OPTION_NAMES = optionNames(CORE_OPTIONS)

const PASSWORDS: KnownKeys<Nested<'passwords'>> = { bcryptCost: true, bcryptConcurrency: true, bcryptQueue: true, hasher: true, minLength: true }
const THROTTLE: KnownKeys<ThrottleOptions> = { maxAccountFailures: true, maxAddressFailures: true, window: true, lockout: true, maxLockout: true }
const LOGIN: KnownKeys<Nested<'login'>> = { maxInFlightPerAccount: true, maxInFlightPerAddress: true }
const SESSION: KnownKeys<Nested<'session'>> = { refreshTokenTtl: true, maxAge: true, reuseGrace: true, perSessionPerMinute: true, perAddressPerMinute: true }
const REVOCATION: KnownKeys<Nested<'revocation'>> = { syncInterval: true, maxStaleness: true, pruneInterval: true, push: true }
const PASSWORD_RESET: KnownKeys<Nested<'passwordReset'>> = { tokenTtl: true, logIn: true }
const EMAIL_VERIFICATION: KnownKeys<Nested<'emailVerification'>> = { tokenTtl: true }
const MAIL_THROTTLE: KnownKeys<Nested<'mailThrottle'>> = { perAddress: true, perEmail: true, failedLinksPerAddress: true, window: true }
const API_KEYS: KnownKeys<Nested<'apiKeys'>> = {
  prefix: true,
  scopes: true,
  maxLifetime: true,
  maxPerUser: true,
  cache: true,
  failuresPerAddress: true,
  window: true,
  allowByDefault: true
}
const MFA: KnownKeys<Nested<'mfa'>> = { encryptionKey: true, issuer: true, challengeTtl: true, passkeys: true, maxCodeFailuresPerDay: true }
const MFA_PASSKEYS: KnownKeys<NonNullable<Nested<'mfa'>['passkeys']>> = { rpId: true, rpName: true, origins: true, maxPerUser: true }
const API_KEY_CACHE: KnownKeys<NonNullable<Nested<'apiKeys'>['cache']>> = { maxEntries: true, ttl: true }
const KEY: KnownKeys<KeyDefinition> = { kid: true, alg: true, secret: true, privateKey: true, publicKey: true }

const NESTED_OPTIONS: ReadonlyArray<[string, readonly string[]]> = [
  ['passwords', optionNames(PASSWORDS)],
  ['throttle', optionNames(THROTTLE)],
  ['login', optionNames(LOGIN)],
  ['session', optionNames(SESSION)],
  ['revocation', optionNames(REVOCATION)],
  ['passwordReset', optionNames(PASSWORD_RESET)],
  ['emailVerification', optionNames(EMAIL_VERIFICATION)],
  ['mailThrottle', optionNames(MAIL_THROTTLE)],
  ['apiKeys', optionNames(API_KEYS)],
  ['mfa', optionNames(MFA)]
]
const KEY_NAMES = optionNames(KEY)
const API_KEY_CACHE_NAMES = optionNames(API_KEY_CACHE)
const MFA_PASSKEY_NAMES = optionNames(MFA_PASSKEYS)

/**
 * Refuses a name that is not an option, at the top level or in any nested options object,
 * with the path the user wrote: `session.refreshTokenTTL is not an option`.
 */
export function refuseUnknownCoreOptions (options: unknown): void {
  refuseUnknownKeys(options, CORE_OPTION_NAMES)
  const values = options as Record<string, unknown>
  for (const [name, names] of NESTED_OPTIONS) {
    if (values[name] !== undefined) refuseUnknownKeys(values[name], names, { path: name })
  }
  const cache = (values.apiKeys as Record<string, unknown> | undefined)?.cache
  if (cache !== undefined) refuseUnknownKeys(cache, API_KEY_CACHE_NAMES, { path: 'apiKeys.cache' })
  const passkeys = (values.mfa as Record<string, unknown> | undefined)?.passkeys
  if (passkeys !== undefined) refuseUnknownKeys(passkeys, MFA_PASSKEY_NAMES, { path: 'mfa.passkeys' })
  if (Array.isArray(values.keys)) values.keys.forEach((key: unknown, index) => { refuseUnknownKeys(key, KEY_NAMES, { path: `keys[${index}]` }) })
}
