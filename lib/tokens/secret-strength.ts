import { KEYBOARD_LINES, LEET_LETTERS, SECRET_WORDS, WORDLIKE_CONSONANT_PAIRS } from './secret-vocabulary.js'

/**
 * Estimated guessing work (bits) below which a secret is refused. 128 bits is the strength
 * of HS256 itself. Random secrets of 32 bytes estimate far above it (the weakest of 100,000
 * tries each as hex, base64, base64url and raw bytes was 175 bits; test/secret-strength.test.ts
 * checks thousands more on every run), and hand-made phrases far below
 * (`my-super-secret-jwt-signing-key-2024` is about 40).
 */
export const MIN_SECRET_BITS = 128

// Only the start of a longer secret is estimated, which keeps startup fast: a secret whose
// first 256 characters are guessable is guessable, and a random one is strong long before.
const MAX_ESTIMATED_SYMBOLS = 256

const log2 = Math.log2

// Costs of the patterns, in bits of guessing.
const SEPARATORS = new Set(Array.from(' -_.,:;/|+', (char) => char.codePointAt(0) as number))
const SEPARATOR_BITS = log2(SEPARATORS.size)
const DIGIT_BITS = log2(10)
// A digit run is one more choice ('some digits here') before its digits.
const DIGIT_RUN_BITS = 1
const YEAR_BITS = log2(200)
// Day, month and year (1900-2099) in one of a few orders, with one of a few separators.
const DATE_BITS = log2(366 * 200) + log2(3) + log2(5)
// Letters that read like a word cost about what English text does per letter.
const PRONOUNCEABLE_BITS_PER_LETTER = 2.5
const MIN_PRONOUNCEABLE_LETTERS = 5
const MIN_SEQUENCE_LENGTH = 3
// Text sequences step by at most this much (abc, acegi, 9630); raw bytes by anything.
const MAX_TEXT_STEP = 5
const KEYBOARD_BITS = log2(2 * KEYBOARD_LINES.reduce((keys, line) => keys + line.length, 0))
const MIN_KEYBOARD_WALK = 3

const WORD_RANKS = new Map(SECRET_WORDS.map((word, index) => [word, index + 2]))
const LONGEST_WORD = Math.max(...SECRET_WORDS.map((word) => word.length))

/** Character classes, with how many characters each has, as a guesser enumerates them. */
interface CharClass { name: 'digit' | 'lower' | 'upper' | 'symbol' | 'unicode' | 'binary', size: number }
const DIGIT: CharClass = { name: 'digit', size: 10 }
const LOWER: CharClass = { name: 'lower', size: 26 }
const UPPER: CharClass = { name: 'upper', size: 26 }
const SYMBOL: CharClass = { name: 'symbol', size: 33 }
const UNICODE: CharClass = { name: 'unicode', size: 100 }
const BINARY: CharClass = { name: 'binary', size: 256 }

// Bytes that are not UTF-8 text become symbols past the end of Unicode, so that
// they never pass for letters: 0x110000 + byte keeps the byte in the low 8 bits.
const FIRST_RAW_BYTE = 0x110000

function classOf (code: number): CharClass {
  if (code >= 0x30 && code <= 0x39) return DIGIT
  if (code >= 0x61 && code <= 0x7a) return LOWER
  if (code >= 0x41 && code <= 0x5a) return UPPER
  if ((code >= 0x20 && code < 0x7f) || code === 0x09 || code === 0x0a || code === 0x0d) return SYMBOL
  if (code >= 0x80 && code < FIRST_RAW_BYTE) return UNICODE
  return BINARY
}

/** Code points when the bytes are UTF-8 text, otherwise the bytes themselves. */
function symbolsOf (secret: Buffer): number[] {
  const text = secret.toString('utf8')
  const symbols = Buffer.from(text, 'utf8').equals(secret)
    ? Array.from(text, (char) => char.codePointAt(0) as number)
    : Array.from(secret, (byte) => byte < 0x80 ? byte : FIRST_RAW_BYTE + byte)
  return symbols.slice(0, MAX_ESTIMATED_SYMBOLS)
}

interface Match { start: number, end: number, bits: number }

/** Bits for the capitals of a matched word: none, all, or the first are cheap; mixed ones cost. */
function caseBits (symbols: readonly number[]): number {
  const upper = symbols.filter((code) => classOf(code) === UPPER).length
  if (upper === 0) return 0
  if (upper === symbols.length || (upper === 1 && classOf(symbols[0]) === UPPER)) return 1
  const lower = symbols.length - upper
  let variants = 0
  let choose = 1
  for (let i = 1; i <= Math.min(upper, lower); i++) {
    choose = choose * (symbols.length - i + 1) / i
    variants += choose
  }
  return log2(variants)
}

// Raw bytes read as a character no pattern contains.
const lowerChar = (code: number): string => code >= FIRST_RAW_BYTE ? '\ufffd' : String.fromCodePoint(classOf(code) === UPPER ? code + 0x20 : code)

/** Dictionary words, in any capitalisation and with look-alike digits (s3cr3t). */
function wordMatches (symbols: readonly number[], chars: readonly string[], push: (match: Match) => void): void {
  for (let start = 0; start < symbols.length; start++) {
    let spelled = ''
    let substitutions = 0
    for (let end = start + 1; end <= Math.min(symbols.length, start + LONGEST_WORD); end++) {
      const leet = LEET_LETTERS.get(chars[end - 1])
      spelled += leet ?? chars[end - 1]
      if (leet !== undefined) substitutions++
      const rank = WORD_RANKS.get(spelled)
      if (rank !== undefined) push({ start, end, bits: log2(rank) + caseBits(symbols.slice(start, end)) + substitutions })
    }
  }
}

/** Constant steps within one class of characters: abc, 0123, 9876, acegi, 7890 (digits wrap). */
function sequenceMatches (symbols: readonly number[], push: (match: Match) => void): void {
  const stepOf = (a: number, b: number): number | undefined => {
    const kind = classOf(a)
    if (classOf(b) !== kind) return undefined
    if (kind === BINARY) return ((b - a) % 256 + 256) % 256
    if (kind === SYMBOL || kind === UNICODE) return Math.abs(b - a) <= MAX_TEXT_STEP ? b - a : undefined
    const step = ((b - a) % kind.size + kind.size) % kind.size
    const signed = step > kind.size / 2 ? step - kind.size : step
    return Math.abs(signed) <= MAX_TEXT_STEP ? signed : undefined
  }
  let start = 0
  while (start < symbols.length - 2) {
    const step = stepOf(symbols[start], symbols[start + 1])
    if (step === undefined || step === 0) {
      start++
      continue
    }
    let end = start + 2
    while (end < symbols.length && stepOf(symbols[end - 1], symbols[end]) === step) end++
    if (end - start < MIN_SEQUENCE_LENGTH) {
      start++
      continue
    }
    const kind = classOf(symbols[start])
    const stepBits = kind === BINARY ? 8 : log2(2 * MAX_TEXT_STEP)
    const bits = (from: number, to: number): Match => ({ start: from, end: to, bits: log2(kind.size) + stepBits + log2(to - from) })
    // Its starts and its ends: other patterns may claim either edge.
    for (let from = start; from <= end - MIN_SEQUENCE_LENGTH; from++) push(bits(from, end))
    for (let to = start + MIN_SEQUENCE_LENGTH; to < end; to++) push(bits(start, to))
    // The last symbol may begin the next sequence (abcdcba).
    start = end - 1
  }
}

/** Walks along a keyboard row or column, either way: qwerty, asdf, 1qaz, poiuy. */
function keyboardMatches (symbols: readonly number[], chars: readonly string[], push: (match: Match) => void): void {
  const lines = KEYBOARD_LINES.flatMap((line) => [line, [...line].reverse().join('')])
  for (let start = 0; start <= symbols.length - MIN_KEYBOARD_WALK; start++) {
    for (const line of lines) {
      let at = line.indexOf(chars[start])
      if (at < 0) continue
      let end = start + 1
      while (end < symbols.length && line[at + 1] === chars[end]) { end++; at++ }
      for (let to = start + MIN_KEYBOARD_WALK; to <= end; to++) push({ start, end: to, bits: KEYBOARD_BITS + log2(to - start) + caseBits(symbols.slice(start, to)) })
    }
  }
}

// Letters that could be a word: vowels and consonants alternate in clusters a reader can say
// (at most 3 consonants in a row, so any 4 letters hold a vowel).
const VOWELS = new Set('aeiouy')

/** Reads letters one at a time and says whether all of them so far could be a word. */
class PronounceableRun {
  #vowelRun = 0
  #consonantRun = 0
  #previous = ''

  /** False once the letters cannot be a word, whatever follows. */
  add (letter: string): boolean {
    if (VOWELS.has(letter)) {
      this.#vowelRun++
      this.#consonantRun = 0
    } else {
      this.#consonantRun++
      this.#vowelRun = 0
      if (this.#consonantRun > 1 && !WORDLIKE_CONSONANT_PAIRS.has(this.#previous + letter)) return false
    }
    this.#previous = letter
    return this.#vowelRun <= 2 && this.#consonantRun <= 3
  }
}

/** Runs of letters that read like words (dictionary-like), cheaper than random letters. */
function pronounceableMatches (symbols: readonly number[], chars: readonly string[], push: (match: Match) => void): void {
  for (let start = 0; start < symbols.length - 1; start++) {
    const first = classOf(symbols[start])
    if (first !== LOWER && first !== UPPER) continue
    // Written as words are: lower case, capitalised, or all capitals (random letters mix cases).
    const rest = first === UPPER && classOf(symbols[start + 1]) === UPPER ? UPPER : LOWER
    const run = new PronounceableRun()
    run.add(chars[start])
    for (let end = start + 2; end <= symbols.length && classOf(symbols[end - 1]) === rest && run.add(chars[end - 1]); end++) {
      const length = end - start
      if (length >= MIN_PRONOUNCEABLE_LETTERS) push({ start, end, bits: PRONOUNCEABLE_BITS_PER_LETTER * length + (first === UPPER ? 1 : 0) })
    }
  }
}

const isDigit = (code: number): boolean => classOf(code) === DIGIT
const digitsValue = (chars: readonly string[], start: number, length: number): number => Number(chars.slice(start, start + length).join(''))
const isYear = (value: number): boolean => value >= 1900 && value <= 2099
const isDayMonth = (day: number, month: number): boolean => day >= 1 && day <= 31 && month >= 1 && month <= 12

/** Digit runs (a few bits a digit), years 1900-2099 and dates such as 2024-01-31 or 31.01.2024. */
function numberMatches (symbols: readonly number[], chars: readonly string[], push: (match: Match) => void): void {
  for (let start = 0; start < symbols.length; start++) {
    for (let end = start + 1; end <= symbols.length && isDigit(symbols[end - 1]); end++) {
      push({ start, end, bits: DIGIT_RUN_BITS + DIGIT_BITS * (end - start) })
    }
    if (start + 4 <= symbols.length && symbols.slice(start, start + 4).every(isDigit) && isYear(digitsValue(chars, start, 4))) {
      push({ start, end: start + 4, bits: YEAR_BITS })
    }
  }
  // yyyy?mm?dd, dd?mm?yyyy and mm?dd?yyyy, where ? is one separator or none.
  const date = /(?<!\d)(?:(\d{4})([-./_ ]?)(\d{2})\2(\d{2})|(\d{2})([-./_ ]?)(\d{2})\6(\d{4}))(?!\d)/g
  const text = chars.join('')
  for (const found of text.matchAll(date)) {
    const [year, a, b] = found[1] !== undefined ? [found[1], found[4], found[3]] : [found[8], found[5], found[7]]
    if (isYear(Number(year)) && (isDayMonth(Number(a), Number(b)) || isDayMonth(Number(b), Number(a)))) {
      const start = Array.from(text.slice(0, found.index)).length
      push({ start, end: start + Array.from(found[0]).length, bits: DATE_BITS })
    }
  }
}

/** A unit said again: cost of the unit, plus which number of times (abcabcabc, changeme-changeme). */
function repeatMatches (symbols: readonly number[], unitBits: (unit: readonly number[]) => number, push: (match: Match) => void): void {
  const n = symbols.length
  // The shortest unit that repeats from each position: a unit made of it repeats too, at no lower cost.
  const periods = new Array<number>(n).fill(0)
  for (let length = 1; length <= n / 2; length++) {
    // run: how many symbols from here on equal the ones `length` further on.
    let run = 0
    for (let start = n - length - 1; start >= 0; start--) {
      run = symbols[start] === symbols[start + length] ? run + 1 : 0
      const count = 1 + Math.floor(run / length)
      if (count < 2 || (periods[start] > 0 && length % periods[start] === 0)) continue
      if (periods[start] === 0) periods[start] = length
      push({ start, end: start + count * length, bits: unitBits(symbols.slice(start, start + length)) + log2(count) })
    }
  }
}

// One case of hex letters with digits: the alphabet of hex strings (4 bits a character).
const isHexDigit = (code: number): boolean => (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66) || (code >= 0x41 && code <= 0x46)

// A version 4 UUID holds 122 random bits, below MIN_SECRET_BITS: crypto.randomUUID() is refused
// as a secret (two of them pass), whether or not its dashes were removed.
const UUID_V4 = /[0-9a-f]{8}(?<dash>-?)[0-9a-f]{4}\k<dash>4[0-9a-f]{3}\k<dash>[89ab][0-9a-f]{3}\k<dash>[0-9a-f]{12}/g
const UUID_V4_BITS = 122

/** Version 4 UUIDs, at what their random bits cost. */
function uuidMatches (chars: readonly string[], push: (match: Match) => void): void {
  const text = chars.join('')
  for (const found of text.matchAll(UUID_V4)) {
    const start = Array.from(text.slice(0, found.index)).length
    push({ start, end: start + Array.from(found[0]).length, bits: UUID_V4_BITS })
  }
}

/** Bits a brute-force guesser needs per symbol, over every class the secret uses. */
function bruteForceBits (symbols: readonly number[]): number {
  const classes = new Set(symbols.map(classOf))
  if (classes.has(BINARY)) return log2(BINARY.size)
  if (symbols.every(isHexDigit)) return log2(16)
  let size = 0
  for (const kind of classes) size += kind.size
  return log2(size)
}

/**
 * The cheapest way to build `symbols` from patterns and brute-forced characters
 * (zxcvbn's minimum-cost decomposition, by dynamic programming over the positions).
 */
function cheapestBits (symbols: readonly number[], memo: Map<string, number>): number {
  const key = symbols.join(',')
  const known = memo.get(key)
  if (known !== undefined) return known
  const n = symbols.length
  const endingAt: Match[][] = Array.from({ length: n + 1 }, () => [])
  const push = (match: Match): void => { endingAt[match.end].push(match) }
  const chars = symbols.map(lowerChar)
  wordMatches(symbols, chars, push)
  sequenceMatches(symbols, push)
  keyboardMatches(symbols, chars, push)
  pronounceableMatches(symbols, chars, push)
  numberMatches(symbols, chars, push)
  uuidMatches(chars, push)
  repeatMatches(symbols, (unit) => cheapestBits(unit, memo), push)
  const perSymbol = bruteForceBits(symbols)
  const best = new Float64Array(n + 1)
  for (let end = 1; end <= n; end++) {
    best[end] = best[end - 1] + (SEPARATORS.has(symbols[end - 1]) ? Math.min(SEPARATOR_BITS, perSymbol) : perSymbol)
    for (const match of endingAt[end]) best[end] = Math.min(best[end], best[match.start] + match.bits)
  }
  memo.set(key, best[n])
  return best[n]
}

/**
 * Estimates the guessing work, in bits, of a secret: the cheapest way to build it from
 * words, repeats, sequences, keyboard walks, dates and digit runs, with every other
 * character costing log2 of the size of the character classes present (8 bits a byte for
 * binary secrets). Like zxcvbn, it errs towards the guesser: a low estimate is a real
 * warning, a high one only says no common pattern was found.
 */
export function estimateSecretBits (secret: Buffer): number {
  const direct = cheapestBits(symbolsOf(secret), new Map())
  const text = decodedText(secret)
  return text === undefined ? direct : Math.min(direct, ENCODING_BITS + estimateSecretBits(text))
}

// Which of the two encodings a guesser tries on a phrase it guesses.
const ENCODING_BITS = 1
const HEX = /^(?:[0-9a-fA-F]{2})+$/
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/
const isPrintableAscii = (bytes: Buffer): boolean => bytes.every((byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d)

/**
 * The text a hex or base64 secret encodes (`echo -n my-secret | base64`): as guessable as
 * that text. Random bytes almost never decode to printable text (32 of them: about 1 in 10^14).
 */
function decodedText (secret: Buffer): Buffer | undefined {
  const text = secret.toString('latin1')
  const decoded = HEX.test(text) ? Buffer.from(text, 'hex') : BASE64.test(text) ? Buffer.from(text, 'base64') : undefined
  return decoded !== undefined && decoded.length > 0 && isPrintableAscii(decoded) ? decoded : undefined
}
