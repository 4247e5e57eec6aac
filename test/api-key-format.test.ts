import t from 'tap'
import { createAuthCore, createMemoryStore } from 'fastify-token-auth'
import { DEFAULT_API_KEY_PREFIX, generateKey, generateKeyId, hashKey, isWellFormedKey, keyPattern } from '../lib/api-keys/key-format.js'
import { SECRET } from './helpers/app.js'
import { ADDRESS, apiKeyCore, eventsOf } from './helpers/api-keys.js'

// What a key looks like: a prefix, 256 random bits in base62, a CRC32 checksum; a typo is refused offline.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const pattern = keyPattern(DEFAULT_API_KEY_PREFIX)

t.test('a key is the prefix, 43 base62 characters and a 6-character checksum; only its SHA-256 is kept', async (t) => {
  const { key, hash, start } = generateKey(DEFAULT_API_KEY_PREFIX)
  t.match(key, /^fta_live_[0-9A-Za-z]{49}$/)
  t.match(key, pattern, 'secret scanners can use the pattern')
  t.equal(hash, hashKey(key))
  t.match(hash, /^[0-9a-f]{64}$/)
  t.equal(start, key.slice(0, 15), 'the prefix and six characters for lists')
  t.ok(isWellFormedKey(key, DEFAULT_API_KEY_PREFIX, pattern))
  t.not(generateKey(DEFAULT_API_KEY_PREFIX).key, key, 'random')
  t.match(generateKeyId(), /^[0-9A-Za-z]{16}$/)
})

t.test('every single-character change of a key fails its checksum or its pattern', async (t) => {
  const { key } = generateKey(DEFAULT_API_KEY_PREFIX)
  let changes = 0
  let accepted = 0
  for (let position = 0; position < key.length; position++) {
    for (const character of ALPHABET + '_-') {
      if (character === key[position]) continue
      changes++
      if (isWellFormedKey(key.slice(0, position) + character + key.slice(position + 1), DEFAULT_API_KEY_PREFIX, pattern)) accepted++
    }
  }
  t.ok(changes > 3000, `${changes} changes tried`)
  t.equal(accepted, 0)
  t.notOk(isWellFormedKey(key.slice(0, -1), DEFAULT_API_KEY_PREFIX, pattern), 'a character missing')
  t.notOk(isWellFormedKey(`${key}0`, DEFAULT_API_KEY_PREFIX, pattern), 'a character too many')
  const swapped = key.slice(0, 20) + key[21] + key[20] + key.slice(22)
  if (swapped !== key) t.notOk(isWellFormedKey(swapped, DEFAULT_API_KEY_PREFIX, pattern), 'two neighbours swapped')
})

t.test('a mistyped key is refused as invalid without a lookup, and reported as malformed', async (t) => {
  const { apiKeys, alice, store, events } = await apiKeyCore(t)
  const { key } = await apiKeys.create(alice.id, { name: 'ci', scopes: [] })
  let lookups = 0
  const findByHash = store.apiKeys.findByHash
  store.apiKeys.findByHash = async (hash) => { lookups++; return await findByHash(hash) }
  const typo = key.slice(0, 30) + (key[30] === 'a' ? 'b' : 'a') + key.slice(31)
  await t.rejects(async () => await apiKeys.authenticate(typo, ADDRESS), { code: 'FST_TOKEN_AUTH_INVALID_API_KEY', statusCode: 401, message: 'The API key is invalid, revoked or expired' })
  t.equal(lookups, 0)
  t.match(eventsOf(events, 'api_key.rejected'), [{ reason: 'malformed', address: ADDRESS, userId: undefined }])
  t.notOk('keyId' in eventsOf(events, 'api_key.rejected')[0], 'no key is named for a key nobody has')
  t.equal((await apiKeys.authenticate(key, ADDRESS)).sub, alice.id, 'the key as given works')
})

t.test('isApiKey tells a key by its prefix alone', async (t) => {
  const { apiKeys } = await apiKeyCore(t, { apiKeys: { prefix: 'acme_test_' } })
  t.ok(apiKeys.isApiKey('acme_test_anything'))
  t.notOk(apiKeys.isApiKey('fta_live_x'))
  t.notOk(apiKeys.isApiKey('eyJhbGciOiJIUzI1NiJ9.e30.sig'))
})

t.test('a key of another prefix is well-formed only for that prefix', async (t) => {
  const { apiKeys, alice } = await apiKeyCore(t, { apiKeys: { prefix: 'acme_' } })
  const { key, apiKey } = await apiKeys.create(alice.id, { name: 'ci', scopes: [] })
  t.match(key, /^acme_[0-9A-Za-z]{49}$/)
  t.match(apiKey.start, /^acme_[0-9A-Za-z]{6}$/)
  t.notOk(isWellFormedKey(`fta_live_${key.slice(5)}`, DEFAULT_API_KEY_PREFIX, pattern), 'the checksum covers the prefix')
})

t.test('a prefix that is not lower-case letters and digits ending in _ is refused at startup', async (t) => {
  const store = createMemoryStore()
  for (const prefix of ['', 'fta', 'FTA_', 'fta-live_', '_fta_', 'a_', 'f_t_a_', 'averyveryverylongname_', 'fta_live', 7]) {
    t.throws(() => createAuthCore({ secret: SECRET, store, apiKeys: { prefix: prefix as string } }),
      { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: /apiKeys\.prefix must be lower-case letters and digits/ }, `refused: ${String(prefix)}`)
  }
  t.ok(createAuthCore({ secret: SECRET, store, apiKeys: { prefix: 'acme_live_' } }).stateful?.apiKeys, 'two parts')
  t.ok(createAuthCore({ secret: SECRET, store, apiKeys: { prefix: 'ab_' } }).stateful?.apiKeys, 'the shortest')
})
