import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { estimateSecretBits, MIN_SECRET_BITS } from '../lib/tokens/secret-strength.js'

// The estimate that decides whether a secret is refused: random secrets pass with a wide
// margin, however they are written down, and the secrets people make up fail.

const bits = (secret: string | Buffer): number => estimateSecretBits(Buffer.from(secret))

const ENCODINGS = ['hex', 'base64', 'base64url', 'binary'] as const
// The weakest random 32-byte secret seen in 400,000 tries (100,000 per encoding) estimated 175 bits.
const MARGIN_BITS = 32

t.test('random secrets of 32 to 64 bytes pass with margin, as hex, base64, base64url or raw bytes', async (t) => {
  for (const encoding of ENCODINGS) {
    let weakest = Infinity
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 64 }), (bytes) => {
      const raw = Buffer.from(bytes)
      const estimate = estimateSecretBits(encoding === 'binary' ? raw : Buffer.from(raw.toString(encoding)))
      weakest = Math.min(weakest, estimate)
      return estimate >= MIN_SECRET_BITS + MARGIN_BITS
    }), { numRuns: 2500 })
    t.ok(weakest >= MIN_SECRET_BITS + MARGIN_BITS, `${encoding}: the weakest of 2500 estimated ${Math.round(weakest)} bits`)
  }
})

t.test('random secrets made of printable characters pass too', async (t) => {
  const printable = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&*+-./:=?@^_~'), minLength: 40, maxLength: 64 })
  fc.assert(fc.property(printable, (secret) => bits(secret) >= MIN_SECRET_BITS), { numRuns: 1000 })
  t.pass()
})

const weak: Array<[string, string]> = [
  ['changeme-changeme-changeme-changeme', 'a word repeated'],
  ['my-super-secret-jwt-signing-key-2024', 'words and a year'],
  ['01234567890123456789012345678901', 'sequential digits'],
  ['a'.repeat(64), 'one character'],
  ['this-is-a-very-long-secret-key-for-jwt-signing', 'a long phrase'],
  ['this is my very secret key for signing tokens', 'a phrase with spaces'],
  ['MySuperSecretJwtSigningKey2024!!', 'capitalised words'],
  ['MY_SUPER_SECRET_JWT_SIGNING_KEY_2024', 'capital words'],
  ['password12345678901234567890123456', 'password and digits'],
  ['P@ssw0rd2024!P@ssw0rd2024!P@ssw0rd', 'look-alike digits, repeated'],
  ['s3cr3t-k3y-f0r-jwt-s1gn1ng-1n-pr0duct10n', 'look-alike digits'],
  ['supersecretkeysupersecretkeysupersecret', 'run-together words, repeated'],
  ['qwertyuiopasdfghjklzxcvbnm1234567890', 'keyboard rows'],
  ['qazwsxedcrfvtgbyhnujmikolp!@#$%^&*()', 'keyboard columns and the shifted digit row'],
  ['poiuytrewqlkjhgfdsamnbvcxz0987654321', 'keyboard rows backwards'],
  ['98765432109876543210987654321098', 'digits counting down'],
  ['abcdefghijklmnopqrstuvwxyzabcdefgh', 'the alphabet'],
  ['acegikmoqsuwy13579bdfhjlnprtvxz02468', 'letters and digits in steps of two'],
  ['2024-01-15-my-app-jwt-secret-key-production', 'a date and words'],
  ['15.01.2024 my app jwt secret key for production', 'a day-first date and words'],
  ['12/31/1999 my app jwt secret key for production', 'a month-first date and words'],
  ['example-server-test-secret-0123456789abcdefghij', 'a test fixture'],
  ['thequickbrownfoxjumpsoverthelazydog', 'a pangram'],
  ['correct horse battery staple and more words', 'a short passphrase'],
  ['Tralomenisarbucketolvanderpimostrakelu', 'made-up pronounceable words'],
  ['abcabcabcabcabcabcabcabcabcabcabcabc', 'a short unit repeated'],
  ['ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ', 'one accented letter'],
  ['secret\tsecret\tsecret\tsecret\tsecret\t', 'words between tabs'],
  ['ſecretſecretſecretſecretſecretſecretſecret', 'non-ASCII text repeated'],
  ['!"#$%&\'()*+,-./!"#$%&\'()*+,-./!"#$%&\'()*+,', 'punctuation in code order'],
  ['secret-key-' + '0'.repeat(24), 'words and zeros']
]

t.test('made-up secrets are refused: words, repeats, sequences, keyboard walks and dates', async (t) => {
  for (const [secret, why] of weak) {
    const estimate = bits(secret)
    t.ok(estimate < MIN_SECRET_BITS, `${why}: ${JSON.stringify(secret)} estimated ${Math.round(estimate)} bits`)
  }
})

t.test('bytes that are not text are estimated at 8 bits each, less their patterns', async (t) => {
  t.ok(bits(Buffer.alloc(64)) < MIN_SECRET_BITS, '64 zero bytes')
  t.ok(bits(Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i * 2))) < MIN_SECRET_BITS, 'bytes in constant steps')
  t.ok(bits(Buffer.from(Array.from({ length: 64 }, (_, i) => 0xf0 + (i % 4)))) < MIN_SECRET_BITS, 'four high bytes repeated')
  t.ok(bits(Buffer.concat([Buffer.from('my-super-secret-jwt-signing-key'), Buffer.from([0xff])])) < MIN_SECRET_BITS, 'a phrase with one stray byte')
  const varied = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 149 + 17) & 0xff))
  t.ok(bits(varied) >= MIN_SECRET_BITS, 'bytes with no pattern')
})

t.test('each pattern costs a few bits, far less than its characters would at random', async (t) => {
  t.ok(bits('secret') < bits('xqzvbk'), 'a word costs less than random letters')
  t.ok(bits('Secret') < bits('sEcReT'), 'a capitalised word costs less than mixed capitals')
  t.ok(bits('2024') < bits('7309'), 'a year costs less than other digits')
  t.ok(bits('1999-12-31') < bits('1999-13-31'), 'a real date costs less than an impossible one')
  t.ok(bits('31.12.1999') < bits('31.13.1999'), 'a day-first date too')
  t.ok(bits('12/31/1999') < bits('13/31/1999'), 'and a month-first one')
  t.ok(bits('qwerty') < bits('qwrtey'), 'a keyboard walk costs less than the same keys shuffled')
  t.ok(bits('strandelo') < bits('sxqrvdelo'), 'pronounceable letters cost less than unpronounceable ones')
  t.ok(bits('sTRANDELO') > bits('STRANDELO'), 'as long as they are written as words are')
  t.ok(bits('kaeiodelin') > bits('kabodelinu'), 'three vowels in a row do not read as a word')
})

t.test('only the first 256 characters are estimated, so startup stays fast however long the secret', async (t) => {
  const random = 'nO7hX2qL9vR4tW8yB3mK6pD1sF5gJ0cZ-aE_uI4oP8lQ2wY'
  t.equal(bits('a'.repeat(256) + random), bits('a'.repeat(300) + random), 'the tail past 256 characters is not looked at')
  t.ok(bits('abcd'.repeat(1000)) < MIN_SECRET_BITS)
})

const asHex = (text: string): string => Buffer.from(text).toString('hex')
const asBase64 = (text: string): string => Buffer.from(text).toString('base64')

t.test('a phrase encoded as hex or base64 is as guessable as the phrase', async (t) => {
  for (const secret of [
    asBase64('supersecretpassword123456'),
    asBase64('my-super-secret-jwt-signing-key'),
    Buffer.from('my secret').toString('base64url').repeat(3),
    asHex('my-super-secret-key-for-jwt!'),
    asHex('correct horse battery staple'),
    '73656372657431323334353637383930',
    asBase64(asHex('secret-secret-secret'))
  ]) {
    t.ok(estimateSecretBits(Buffer.from(secret)) < MIN_SECRET_BITS, secret)
  }
})

t.test('a version 4 UUID (122 random bits) is below the bar with or without its dashes; two of them pass', async (t) => {
  const uuid = randomUUID()
  t.equal(estimateSecretBits(Buffer.from(uuid)), 122)
  t.ok(estimateSecretBits(Buffer.from(uuid.replaceAll('-', ''))) <= 122, 'without dashes: no more (digit runs may make it cheaper)')
  t.ok(estimateSecretBits(Buffer.from(randomUUID() + randomUUID())) >= MIN_SECRET_BITS)
})
