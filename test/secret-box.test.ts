import t from 'tap'
import { SecretBox } from '../lib/mfa/secret-box.js'

// TOTP secrets at rest: AES-256-GCM bound to the user, under rotating keys.

const KEY_A = Buffer.from('an mfa encryption key of 32 bytes')
const KEY_B = Buffer.from('another mfa encryption key, 32 b!')
const SECRET = Buffer.from('12345678901234567890')

t.test('a sealed secret opens for its user, in the documented format, differently each time', async (t) => {
  const box = new SecretBox([KEY_A])
  const sealed = box.seal(SECRET, 'user-1')
  t.match(sealed, /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{27}\.[A-Za-z0-9_-]{22}$/)
  t.ok(sealed.length <= 200, 'fits the store column')
  t.same(box.open(sealed, 'user-1'), SECRET)
  t.not(box.seal(SECRET, 'user-1'), sealed, 'a fresh IV each time')
  t.notOk(sealed.includes(SECRET.toString('base64url')), 'the secret is not in it')
})

t.test('a secret copied to another user does not open', async (t) => {
  const box = new SecretBox([KEY_A])
  t.equal(box.open(box.seal(SECRET, 'user-1'), 'user-2'), undefined)
})

t.test('any tampering, a wrong format or an unknown key id opens nothing', async (t) => {
  const box = new SecretBox([KEY_A])
  const sealed = box.seal(SECRET, 'user-1')
  const parts = sealed.split('.')
  const flip = (text: string): string => (text[0] === 'A' ? 'B' : 'A') + text.slice(1)
  for (const index of [2, 3, 4]) {
    const tampered = [...parts]
    tampered[index] = flip(tampered[index])
    t.equal(box.open(tampered.join('.'), 'user-1'), undefined, `part ${index} changed`)
  }
  t.equal(box.open(['v1', '00000000', ...parts.slice(2)].join('.'), 'user-1'), undefined, 'unknown key id')
  t.equal(box.open(['v2', ...parts.slice(1)].join('.'), 'user-1'), undefined, 'unknown version')
  t.equal(box.open('', 'user-1'), undefined)
  t.equal(box.open(`${sealed}.`, 'user-1'), undefined)
})

t.test('key rotation: the first key seals, every key opens; a key dropped opens nothing', async (t) => {
  const old = new SecretBox([KEY_A])
  const rotated = new SecretBox([KEY_B, KEY_A])
  const sealedOld = old.seal(SECRET, 'user-1')
  const sealedNew = rotated.seal(SECRET, 'user-1')
  t.same(rotated.open(sealedOld, 'user-1'), SECRET, 'an old secret opens after the rotation')
  t.same(rotated.open(sealedNew, 'user-1'), SECRET)
  t.not(sealedNew.split('.')[1], sealedOld.split('.')[1], 'sealed under the new key')
  t.equal(old.open(sealedNew, 'user-1'), undefined, 'an instance without the new key cannot open it')
  t.equal(new SecretBox([KEY_B]).open(sealedOld, 'user-1'), undefined, 'the old key dropped')
})

t.test('two keys with the same id are both tried', async (t) => {
  const box = new SecretBox([KEY_A, KEY_A])
  const sealed = new SecretBox([KEY_A]).seal(SECRET, 'user-1')
  t.same(box.open(sealed, 'user-1'), SECRET)
  t.equal(box.open(sealed, 'user-2'), undefined, 'and both refuse what neither opens')
})
