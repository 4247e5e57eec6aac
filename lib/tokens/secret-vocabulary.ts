// What people type when asked for a secret, for the strength estimate in secret-strength.ts.
// A guesser tries these first, so each costs only a few bits.

/**
 * Words found in hand-made secrets, roughly most likely first: a word's cost is log2 of its
 * rank. Short on purpose: a pronounceable run of letters is dictionary-like anyway.
 */
export const SECRET_WORDS: readonly string[] = [
  'secret', 'key', 'jwt', 'token', 'password', 'my', 'changeme', 'test', 'super', 'signing',
  'the', 'a', 'is', 'this', 'your', 'app', 'api', 'auth', 'dev', 'prod', 'production', 'default',
  'example', 'admin', 'private', 'session', 'cookie', 'hmac', 'sha', 'local', 'staging', 'for', 'of',
  'to', 'and', 'very', 'long', 'not', 'do', 'dont', 'in', 'it', 'be', 'me', 'our', 'new', 'old',
  'pass', 'passwd', 'pwd', 'sign', 'signature', 'access', 'refresh', 'id', 'user', 'users', 'login',
  'server', 'service', 'client', 'web', 'site', 'node', 'express', 'fastify', 'next', 'nest',
  'development', 'develop', 'env', 'environment', 'config', 'demo', 'sample', 'dummy', 'fake', 'mock',
  'placeholder', 'replace', 'insert', 'put', 'here', 'some', 'random', 'string', 'value', 'text',
  'salt', 'hash', 'crypto', 'encrypt', 'encryption', 'cipher', 'shared', 'share', 'public', 'internal',
  'unique', 'strong', 'safe', 'secure', 'security', 'hidden', 'top', 'ultra', 'mega', 'extra',
  'really', 'should', 'must', 'never', 'at', 'least', 'characters', 'chars', 'bytes', 'bits',
  'use', 'only', 'keep', 'with', 'that', 'you', 'we', 'i', 'am', 'are', 'was', 'have', 'can', 'will',
  'change', 'set', 'get', 'generate', 'generated', 'please', 'qwerty', 'letmein', 'welcome', 'hello',
  'world', 'foo', 'bar', 'baz', 'abc', 'xyz', 'root', 'guest', 'master', 'company', 'project', 'backend',
  'frontend', 'database', 'db', 'keys', 'tokens', 'secrets', 'jwts', 'hs', 'tmp', 'temp', 'todo',
  'fixme', 'localhost', 'docker', 'k8s', 'cloud', 'aws', 'stage', 'qa', 'uat', 'ci',
  'testing', 'tests', 'unit', 'integration', 'e2e', 'bench', 'benchmark', 'one', 'two', 'three',
  'first', 'last', 'main', 'primary', 'backup', 'rotate', 'rotation', 'current', 'previous',
  'csrf', 'refreshtoken', 'accesstoken', 'jsonwebtoken', 'bearer', 'oauth', 'openid', 'sso', 'identity',
  'account', 'accounts', 'email', 'mail', 'phone', 'code', 'pin', 'otp', 'totp', 'mfa', 'verify',
  'verification', 'reset', 'cookies', 'magic', 'dragon', 'monkey', 'sunshine', 'shadow',
  'football', 'baseball', 'iloveyou', 'trustno', 'princess', 'batman', 'superman', 'starwars',
  'also', 'more', 'or', 'than', 'all', 'any', 'no', 'so', 'if', 'on', 'by', 'as', 'an', 'from', 'just',
  'like', 'what', 'when', 'where', 'how', 'who', 'why', 'which', 'there', 'their', 'them', 'they', 'he',
  'she', 'his', 'her', 'its', 'has', 'had', 'were', 'been', 'would', 'could', 'may', 'make', 'made',
  'good', 'best', 'big', 'small', 'much', 'many', 'most', 'less', 'each', 'every', 'other', 'same', 'own',
  'out', 'up', 'down', 'over', 'under', 'again', 'now', 'then', 'time', 'day', 'year', 'life', 'love',
  'work', 'home', 'name', 'word', 'words', 'phrase', 'open', 'close', 'lock', 'door', 'hard', 'easy',
  'guess', 'cant', 'nobody', 'someone', 'anyone', 'everyone', 'know', 'think', 'real', 'true', 'false',
  'null', 'none', 'empty', 'blank', 'stuff', 'thing', 'things', 'whatever', 'bad', 'pretty', 'awesome',
  'cool', 'nice', 'great', 'quick', 'brown', 'fox', 'jumps', 'lazy', 'dog', 'cat', 'correct', 'horse',
  'battery', 'staple'
]

/**
 * Keys that lie in a line on a US keyboard (rows, shifted rows and the slanted columns);
 * a walk along one, either way, costs a few bits.
 */
export const KEYBOARD_LINES: readonly string[] = [
  '`1234567890-=', 'qwertyuiop[]\\', "asdfghjkl;'", 'zxcvbnm,./',
  '~!@#$%^&*()_+', 'qwertyuiop{}|', 'asdfghjkl:"', 'zxcvbnm<>?',
  '1qaz', '2wsx', '3edc', '4rfv', '5tgb', '6yhn', '7ujm', '8ik,', '9ol.', '0p;/',
  '!qaz', '@wsx', '#edc', '$rfv', '%tgb', '^yhn', '&ujm', '*ik<', '(ol>', ')p:?'
]

/** Look-alike characters in 'l33t' spellings (p4ssw0rd, s1gn1ng), and the letter each stands for. */
export const LEET_LETTERS: ReadonlyMap<string, string> = new Map([
  ['4', 'a'], ['@', 'a'], ['8', 'b'], ['(', 'c'], ['3', 'e'], ['6', 'g'], ['9', 'g'], ['1', 'i'], ['!', 'i'],
  ['|', 'l'], ['0', 'o'], ['5', 's'], ['$', 's'], ['7', 't'], ['+', 't'], ['2', 'z']
])

/**
 * Consonant pairs that English words put side by side (st, ng, th…); random letters mostly
 * pair others (qz, xk…). A run of letters whose consonant pairs are all here reads like a word.
 */
export const WORDLIKE_CONSONANT_PAIRS: ReadonlySet<string> = new Set([
  'bb', 'bl', 'br', 'bs', 'cc', 'ch', 'ck', 'cl', 'cm', 'cr', 'ct', 'dd', 'dg', 'dl', 'dr', 'ds', 'ff', 'fl',
  'fr', 'ft', 'gg', 'gh', 'gl', 'gn', 'gr', 'gs', 'hn', 'hr', 'ht', 'kn', 'ks', 'lc', 'ld', 'lf', 'lk', 'll',
  'lm', 'lp', 'ls', 'lt', 'lv', 'mb', 'mm', 'mn', 'mp', 'ms', 'nc', 'nd', 'nf', 'ng', 'nj', 'nk', 'nm', 'nn',
  'ns', 'nt', 'nv', 'ph', 'pl', 'pp', 'pr', 'ps', 'pt', 'rb', 'rc', 'rd', 'rf', 'rg', 'rk', 'rl', 'rm', 'rn',
  'rp', 'rr', 'rs', 'rt', 'rv', 'sc', 'sh', 'sk', 'sl', 'sm', 'sn', 'sp', 'ss', 'st', 'sw', 'tf', 'th', 'tl',
  'tr', 'ts', 'tt', 'tw', 'wh', 'wl', 'wn', 'wr', 'ws', 'xt', 'zz'
])
