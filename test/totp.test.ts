import QRCode from 'qrcode'
import t from 'tap'
import { encodeBase32 } from '../lib/mfa/base32.js'
import { matchingStep, newTotpSecret, otpauthUri, totpCode, totpStep } from '../lib/mfa/totp.js'

// TOTP (RFC 6238) written by hand: the RFC's own vectors, the drift window, the replay bound.

// RFC 6238 Appendix B: the SHA-1 seed and its 8-digit values.
const RFC_SECRET = Buffer.from('12345678901234567890', 'ascii')
const RFC_VECTORS: ReadonlyArray<readonly [number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130']
]

t.test('the RFC 6238 test vectors (SHA-1, 8 digits), and their last 6 digits as apps show them', async (t) => {
  for (const [time, code] of RFC_VECTORS) {
    t.equal(totpCode(RFC_SECRET, totpStep(time), 8), code, `T = ${time}`)
    // Truncation keeps 31 bits and takes them modulo 10^digits: 6 digits are the last 6 of 8.
    t.equal(totpCode(RFC_SECRET, totpStep(time)), code.slice(2), `T = ${time}, 6 digits`)
  }
})

t.test('base32 (RFC 4648 §10 vectors, without padding)', async (t) => {
  const vectors = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']]
  for (const [plain, encoded] of vectors) t.equal(encodeBase32(Buffer.from(plain)), encoded, JSON.stringify(plain))
  t.equal(encodeBase32(RFC_SECRET), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ')
  t.equal(encodeBase32(Buffer.alloc(20, 0xff)), '7'.repeat(32))
})

t.test('a new secret is 20 random bytes', async (t) => {
  const [a, b] = [newTotpSecret(), newTotpSecret()]
  t.equal(a.length, 20)
  t.not(a.toString('hex'), b.toString('hex'))
})

t.test('a code matches at the current step or one step either side, and only above the last used step', async (t) => {
  const now = 1111111111
  const step = totpStep(now)
  const at = (offset: number): string => totpCode(RFC_SECRET, step + offset)
  t.equal(matchingStep(RFC_SECRET, at(0), now, 0), step)
  t.equal(matchingStep(RFC_SECRET, at(-1), now, 0), step - 1, 'the phone a little behind')
  t.equal(matchingStep(RFC_SECRET, at(1), now, 0), step + 1, 'the phone a little ahead')
  t.equal(matchingStep(RFC_SECRET, at(-2), now, 0), undefined, 'two steps old')
  t.equal(matchingStep(RFC_SECRET, at(2), now, 0), undefined, 'two steps ahead')
  t.equal(matchingStep(RFC_SECRET, at(0), now, step), undefined, 'a step already used')
  t.equal(matchingStep(RFC_SECRET, at(-1), now, step - 1), undefined, 'an older step than the last used')
  t.equal(matchingStep(RFC_SECRET, at(1), now, step), step + 1, 'a later step after a used one')
})

t.test('spaces are ignored; anything but six digits matches nothing', async (t) => {
  const now = 1234567890
  const code = totpCode(RFC_SECRET, totpStep(now))
  t.equal(matchingStep(RFC_SECRET, ` ${code.slice(0, 3)} ${code.slice(3)} `, now, 0), totpStep(now))
  for (const typed of ['', '12345', '1234567', 'abcdef', `${code}0`, `${code.slice(0, 5)}x`, '１２３４５６']) {
    t.equal(matchingStep(RFC_SECRET, typed, now, 0), undefined, JSON.stringify(typed))
  }
})

t.test('the otpauth URI names the issuer and account, URI-encoded, with the fixed parameters', async (t) => {
  t.equal(otpauthUri(RFC_SECRET, 'Acme Co', 'alice@example.com'),
    'otpauth://totp/Acme%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30')
  t.match(otpauthUri(RFC_SECRET, 'a:b&c', 'ü'), /^otpauth:\/\/totp\/a%3Ab%26c:%C3%BC\?secret=[A-Z2-7]+&issuer=a%3Ab%26c&/)
})

t.test('a long issuer and account name are cut to 64 characters, so the longest URI still fits a QR code', async (t) => {
  const longest = otpauthUri(RFC_SECRET, '😀'.repeat(300), '😀'.repeat(254))
  t.equal(longest.split('%F0%9F%98%80').length - 1, 64 * 3, 'the issuer twice and the account once, 64 characters each')
  t.match(await QRCode.toString(longest, { type: 'svg', errorCorrectionLevel: 'L' }), /^<svg /)
})
