import t from 'tap'
import { createAuthCore, createMemoryStore, type AuthCoreOptions, type AuthStore } from 'fastify-token-auth'
import { generateSecretKey } from './helpers/mfa-keys.js'
import { SECRET } from './helpers/app.js'

// The `mfa` option: resolved once at startup, every mistake a clear error before any request.

const KEY = generateSecretKey()
const INVALID = { code: 'FST_TOKEN_AUTH_INVALID_OPTION' }

function core (options: Partial<AuthCoreOptions>, store: AuthStore = createMemoryStore()): ReturnType<typeof createAuthCore> {
  return createAuthCore({ secret: SECRET, store, ...options })
}

t.test('absent, second factors are off; present, the defaults', async (t) => {
  t.equal(core({}).options.mfa, undefined)
  t.equal(core({}).stateful?.mfa, undefined)
  const resolved = core({ mfa: { encryptionKey: KEY } }).options.mfa
  t.match(resolved, { issuer: undefined, challengeTtlSeconds: 300, passkeys: undefined })
  t.same(resolved?.keys, [Buffer.from(KEY)])
  t.ok(core({ mfa: { encryptionKey: KEY } }).stateful?.mfa, 'the factors are managed')
})

t.test('every option, passkeys too', async (t) => {
  const bytes = new Uint8Array(32).fill(7)
  const resolved = core({
    mfa: {
      encryptionKey: [KEY, bytes],
      issuer: 'Acme',
      challengeTtl: '2m',
      passkeys: { rpId: 'example.com', rpName: 'Acme sign-in', origins: ['https://example.com', 'http://localhost:3000'], maxPerUser: 5 }
    }
  }).options.mfa
  t.same(resolved, {
    keys: [Buffer.from(KEY), Buffer.from(bytes)],
    issuer: 'Acme',
    challengeTtlSeconds: 120,
    passkeys: { rpId: 'example.com', rpName: 'Acme sign-in', origins: ['https://example.com', 'http://localhost:3000'], maxPerUser: 5 }
  })
  t.same(core({ mfa: { encryptionKey: KEY, passkeys: { rpId: 'localhost', origins: 'http://localhost:3000' } } }).options.mfa?.passkeys,
    { rpId: 'localhost', rpName: undefined, origins: ['http://localhost:3000'], maxPerUser: 20 })
})

t.test('a bad encryption key is refused at startup', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['missing', undefined, /mfa\.encryptionKey is required/],
    ['short', 'x'.repeat(31), /mfa\.encryptionKey must have at least 32 bytes/],
    ['not text or bytes', 42, /mfa\.encryptionKey must be a string or bytes/],
    ['an empty list', [], /at least one key/],
    ['a short key in a list', [KEY, 'short'], /mfa\.encryptionKey\[1\] must have at least 32 bytes/],
    ['the token secret', SECRET, /must not be the token secret/],
    ['the token secret as bytes, second in a list', [KEY, Buffer.from(SECRET)], /must not be the token secret/]
  ]
  for (const [name, encryptionKey, message] of cases) {
    t.throws(() => core({ mfa: { encryptionKey } as never }), { ...INVALID, message }, name)
  }
  const keys = [{ kid: 'a', secret: Buffer.from(KEY) }]
  t.throws(() => createAuthCore({ keys, store: createMemoryStore(), mfa: { encryptionKey: KEY } }), { ...INVALID, message: /token secret/ }, 'a key of the ring')
  const { createSecretKey } = await import('node:crypto')
  t.throws(() => createAuthCore({ keys: [{ secret: createSecretKey(Buffer.from(KEY)) }], store: createMemoryStore(), mfa: { encryptionKey: KEY } }), { ...INVALID, message: /token secret/ }, 'a KeyObject secret')
  t.ok(createAuthCore({ keys: [{ kid: 'pub', alg: 'EdDSA', privateKey: (await import('node:crypto')).generateKeyPairSync('ed25519').privateKey }], store: createMemoryStore(), mfa: { encryptionKey: KEY } }), 'asymmetric keys have no secret to compare')
})

t.test('bad durations, issuers and passkey options are refused at startup', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['ttl too short', { challengeTtl: '29s' }, /mfa\.challengeTtl must be at least 30/],
    ['ttl too long', { challengeTtl: '16m' }, /mfa\.challengeTtl/],
    ['empty issuer', { issuer: '' }, /mfa\.issuer must be a non-empty string/],
    ['rpId with a scheme', { passkeys: { rpId: 'https://example.com', origins: 'https://example.com' } }, /mfa\.passkeys\.rpId/],
    ['rpId with a port', { passkeys: { rpId: 'localhost:3000', origins: 'http://localhost:3000' } }, /mfa\.passkeys\.rpId/],
    ['rpId upper case', { passkeys: { rpId: 'Example.com', origins: 'https://example.com' } }, /mfa\.passkeys\.rpId/],
    ['no rpId', { passkeys: { origins: 'https://example.com' } }, /mfa\.passkeys\.rpId/],
    ['no origins', { passkeys: { rpId: 'example.com' } }, /mfa\.passkeys\.origins must be an origin/],
    ['empty origins', { passkeys: { rpId: 'example.com', origins: [] } }, /mfa\.passkeys\.origins must be/],
    ['an origin with a path', { passkeys: { rpId: 'example.com', origins: 'https://example.com/' } }, /each must be an origin/],
    ['not a URL', { passkeys: { rpId: 'example.com', origins: ['example.com'] } }, /each must be an origin/],
    ['not a string', { passkeys: { rpId: 'example.com', origins: [42] } }, /each must be an origin/],
    ['empty rpName', { passkeys: { rpId: 'example.com', origins: 'https://example.com', rpName: '' } }, /mfa\.passkeys\.rpName/],
    ['maxPerUser 0', { passkeys: { rpId: 'example.com', origins: 'https://example.com', maxPerUser: 0 } }, /mfa\.passkeys\.maxPerUser must be an integer from 1 to 1000/]
  ]
  for (const [name, mfa, message] of cases) {
    t.throws(() => core({ mfa: { encryptionKey: KEY, ...mfa as object } }), { ...INVALID, message }, name)
  }
})

t.test('misspelt names are refused with the path, passkeys too', async (t) => {
  t.throws(() => core({ mfa: { encryptionKey: KEY, challengeTTL: '1m' } as never }), { ...INVALID, message: /mfa\.challengeTTL is not an option; did you mean mfa\.challengeTtl\?/ })
  t.throws(() => core({ mfa: { encryptionKey: KEY, passkeys: { rpID: 'x', origins: 'https://x' } } as never }), { ...INVALID, message: /mfa\.passkeys\.rpID is not an option; did you mean mfa\.passkeys\.rpId\?/ })
})

t.test('second factors need a store with their ports', async (t) => {
  t.throws(() => createAuthCore({ secret: SECRET, mfa: { encryptionKey: KEY } }), { ...INVALID, message: /second factors are kept in the store/ })
  const { totp: _totp, ...withoutTotp } = createMemoryStore()
  t.throws(() => core({ mfa: { encryptionKey: KEY } }, withoutTotp as AuthStore), { ...INVALID, message: /totp, recoveryCodes, passkeys and challenges/ })
})
