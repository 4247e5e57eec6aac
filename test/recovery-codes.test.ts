import t from 'tap'
import { normaliseRecoveryCode, RecoveryCodeHasher } from '../lib/mfa/recovery-codes.js'

// Recovery codes: their format, how typed codes are read, and how they are kept.

const KEY_A = Buffer.from('an mfa encryption key of 32 bytes')
const KEY_B = Buffer.from('another mfa encryption key, 32 b!')

t.test('a set is 10 codes of 10 Crockford base32 characters shown as xxxxx-xxxxx, with one keyed hash each', async (t) => {
  const { codes, hashes } = new RecoveryCodeHasher([KEY_A]).newSet()
  t.equal(codes.length, 10)
  for (const code of codes) t.match(code, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/)
  t.equal(new Set(codes).size, 10)
  t.equal(hashes.length, 10)
  for (const hash of hashes) t.match(hash, /^[0-9a-f]{64}$/)
  const hasher = new RecoveryCodeHasher([KEY_A])
  t.same(codes.map((code) => hasher.candidates(normaliseRecoveryCode(code) as string)[0]), hashes, 'each hash is the HMAC of the normalised code')
})

t.test('typed codes are normalised: case, spaces, hyphens, o as 0, i and l as 1', async (t) => {
  t.equal(normaliseRecoveryCode('abcde-fgh01'), 'abcdefgh01')
  t.equal(normaliseRecoveryCode(' ABCDE FGH01 '), 'abcdefgh01')
  t.equal(normaliseRecoveryCode('abcdefgh01'), 'abcdefgh01')
  t.equal(normaliseRecoveryCode('oOiIl-LOOOO'), '0011110000')
  for (const typed of ['', 'abcde', 'abcde-fgh012', 'abcde-fghu1', 'abcde_fgh01', 'abcde-fgh0!', 'ａｂｃｄｅｆｇｈ０１']) {
    t.equal(normaliseRecoveryCode(typed), undefined, JSON.stringify(typed))
  }
})

t.test('hashes are keyed: another key gives other hashes; a rotated hasher tries every key', async (t) => {
  const code = 'abcdefgh01'
  const [underA] = new RecoveryCodeHasher([KEY_A]).candidates(code)
  const [underB] = new RecoveryCodeHasher([KEY_B]).candidates(code)
  t.not(underA, underB)
  t.same(new RecoveryCodeHasher([KEY_B, KEY_A]).candidates(code), [underB, underA])
})
