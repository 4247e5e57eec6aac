// Renders benchmark results as a plain-text table (console) and as Markdown (RESULTS.md).

import { ASYMMETRIC_ALGORITHMS } from './micro.mjs'

const rate = (value) => Math.round(value).toLocaleString('en')
const fixed = (value, digits = 2) => Number(value).toFixed(digits)

const range = (spread, format) => `${format(spread.min)}–${format(spread.max)}`

// What some variants are, in words.
const HTTP_LABELS = {
  'keys-app-token': 'API keys on: with an access token',
  'keys-app-key': 'API keys on: with an API key',
  'jwt-header-before': 'jwt-header, the setup before (our token, iss/aud options, cookie plugin)',
  'better-auth-default': 'better-auth, default session (store lookup per request)',
  'better-auth-cookie-cache': 'better-auth, session cookie cache on'
}

/** Median, min and max over the rounds of a value taken round by round. */
function roundly (values) {
  const sorted = [...values].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) }
}

function httpRows (http, connections, section, row) {
  const rounds = (variant, key) => http[variant].rounds[key]
  const addedOverHello = (variant) => roundly(rounds(variant, 'cpuMicrosPerRequest').map((cpu, round) => cpu - rounds('hello', 'cpuMicrosPerRequest')[round]))
  section(`HTTP GET /me, autocannon -c ${connections}: req/s and server CPU µs per request, median (min–max over the rounds); CPU added over hello, median of the per-round differences`)
  for (const [variant, value] of Object.entries(http)) {
    const added = http.hello === undefined || variant === 'hello' ? '' : `, +${fixed(addedOverHello(variant).median, 1)} µs over hello`
    row(HTTP_LABELS[variant] ?? variant, `${rate(value.rps.median)} req/s (${range(value.rps, rate)}), ${fixed(value.cpuMicrosPerRequest.median, 1)} µs CPU (${range(value.cpuMicrosPerRequest, (v) => fixed(v, 1))})${added}`, '')
  }
  const databases = Object.entries(http).filter(([, value]) => value.database !== undefined)
  if (databases.length > 0) {
    section('better-auth rows: its database (its CPU is not in the server CPU above)')
    for (const [variant, value] of databases) row(variant, value.database, '')
  }
  if (http['jwt-header-before'] !== undefined && http.hello !== undefined) {
    section('@fastify/jwt: its own default setup vs the setup this benchmark used before, ratios per round, median (min–max)')
    const ratio = (a, b) => roundly(rounds(a, 'rps').map((rps, round) => rps / rounds(b, 'rps')[round]))
    const show = (spread) => `${fixed(spread.median)} (${range(spread, fixed)})`
    row('jwt-header req/s / hello req/s', show(ratio('jwt-header', 'hello')), '')
    row('jwt-header-before req/s / hello req/s', show(ratio('jwt-header-before', 'hello')), '')
    row('ours-header req/s / hello req/s', show(ratio('ours-header', 'hello')), '')
    row('ours-header / jwt-header req/s', show(ratio('ours-header', 'jwt-header')), '')
    row('ours-header / jwt-header-before req/s', show(ratio('ours-header', 'jwt-header-before')), '')
    const hello = rounds('hello', 'cpuMicrosPerRequest')
    const addedRatio = (a, b) => roundly(rounds(a, 'cpuMicrosPerRequest').map((cpu, round) => (cpu - hello[round]) / (rounds(b, 'cpuMicrosPerRequest')[round] - hello[round])))
    row('CPU added over hello, jwt-header-before / jwt-header', show(addedRatio('jwt-header-before', 'jwt-header')), '')
  }
}

function rows (results, environment) {
  const { micro, http, keyRevocation, login, memory } = results
  const out = []
  const section = (title) => out.push({ section: title })
  const row = (what, value, unit = 'ops/s') => out.push({ what, value, unit })
  if (micro !== undefined) microRows(micro, section, row)
  if (http !== undefined) {
    httpRows(http, environment.settings.http.connections, section, row)
    if (Object.values(http).some((value) => value.jwksFetches !== undefined)) {
      section('Resource servers (-jwks rows above): JWKS fetches during the whole HTTP run')
      for (const [variant, value] of Object.entries(http)) if (value.jwksFetches !== undefined) row(variant, value.jwksFetches, 'fetches')
    }
  }
  if (keyRevocation !== undefined) {
    section(`API key revoked on instance A, until instance B refuses it (${keyRevocation.database}, sync every ${keyRevocation.syncIntervalMs} ms)`)
    row(`median of ${keyRevocation.trials} trials`, fixed(keyRevocation.medianMs, 1), 'ms')
    row('worst', fixed(keyRevocation.maxMs, 1), 'ms')
    row('documented bound (revocation.maxStaleness)', keyRevocation.boundMs, 'ms')
    row('trials never refused within 5 s', keyRevocation.neverRefused, '')
  }
  if (login !== undefined) {
    section(`Login, bcrypt cost ${login.cost}, ${login.concurrency} in flight`)
    row('bare @node-rs/bcrypt verify', fixed(login.bareVerifiesPerSecond), 'verifies/s')
    row('POST /auth/login (SQLite store)', fixed(login.loginsPerSecond), 'logins/s')
    row('event-loop delay p99 during the burst', fixed(login.eventLoopP99Ms), 'ms')
    row('GET /healthz during the burst', `${login.probesOk}/${login.probesSent} ok, p99 ${fixed(login.probeP99Ms, 1)} ms`, '')
  }
  if (memory !== undefined) {
    section('Memory')
    row('distinct tokens signed and verified', rate(memory.tokens), '')
    row('heap after a full GC, at the end', fixed(memory.heapMb, 1), 'MB')
  }
  return out
}

function microRows (micro, section, row) {
  section('HS256 verify (same token)')
  for (const [name, value] of Object.entries(micro.hs256.verify)) row(name, rate(value))
  section('HS256 verify with a cache (a new token string per call, as from HTTP)')
  for (const [name, value] of Object.entries(micro.hs256.cached)) row(name, rate(value))
  section('HS256 sign')
  for (const [name, value] of Object.entries(micro.hs256.sign)) row(name, rate(value))
  for (const [alg, key] of ASYMMETRIC_ALGORITHMS.map((name) => [name, name.toLowerCase()])) {
    section(`${alg} sign / verify`)
    for (const op of ['sign', 'verify']) for (const [name, value] of Object.entries(micro[key][op])) row(`${op}: ${name}`, rate(value))
  }
}

function targetLine (target) {
  const bound = target.min === target.max ? `= ${fixed(target.min)}` : target.min !== undefined ? `>= ${fixed(target.min)}` : `<= ${fixed(target.max)}`
  const spread = target.spread === undefined ? '' : range(target.spread, fixed)
  return { name: target.name, value: fixed(target.value), spread, bound, verdict: target.pass ? 'pass' : 'MISSED' }
}

export function renderText (results, targets, environment) {
  const lines = [`fastify-token-auth benchmark (${environment.mode}): ${environment.cpu}, Node ${environment.node}, ${environment.seconds} s`]
  for (const entry of rows(results, environment)) {
    if (entry.section !== undefined) lines.push('', entry.section)
    else lines.push(`  ${entry.what.padEnd(44)} ${String(entry.value).padStart(14)} ${entry.unit}`)
  }
  lines.push('', 'Targets')
  for (const target of targets.map(targetLine)) lines.push(`  ${target.verdict.padEnd(6)} ${target.name.padEnd(72)} ${target.value.padStart(10)} ${target.spread.padStart(12)}  (${target.bound})`)
  return lines.join('\n')
}

// How the HTTP contenders are set up, and what the change of issue 17 showed (measured by
// `node bench/run.mjs --only=jwt-setup`, figures of 2026-11-28 quoted as measured).
const SETUP_NOTES = [
  '## How the HTTP contenders are set up',
  '',
  '- Every server: `Fastify({ logger: false })`, the same `GET /me` answering `{ sub }`, a process of its own;',
  '  autocannon in the runner\'s process, servers loaded one after the other within each round.',
  '- Each library verifies a token it signed itself, with its default options. Ours: `secret`, `issuer`,',
  '  `audience` and a memory store (so the revocation check runs), token from `app.tokenAuth.sign(claims,',
  '  { expiresIn: \'2h\' })`. `@fastify/jwt`: `{ secret }` only (plus `@fastify/cookie` and its `cookie`',
  '  option on the cookie server), token from `app.jwt.sign(claims, { expiresIn: \'2h\' })`. The two',
  '  resource servers (-jwks) verify the same RS256 token of a local issuer.',
  '- better-auth (its own folder, `bench/peers/better-auth`, with a lock file; installed there on first',
  '  use): mounted as its Fastify guide shows (a catch-all route handing a Fetch `Request` to',
  '  `auth.handler`), `/me` asking `auth.api.getSession({ headers: fromNodeHeaders(request.headers) })`,',
  '  an email and password user signed in through its handler, a fresh sign-in before each round (its',
  '  cookie cache lasts 5 minutes). PostgreSQL through a `pg` Pool when `TEST_PG_URL` is set (a schema',
  '  of its own, created by its `getMigrations`), else its memory adapter. The database server\'s CPU is',
  '  not in the server CPU column: with PostgreSQL, a default-session row costs more than it shows.',
  '- Server CPU per request: the server process\'s user + system time over the measured window',
  '  divided by the requests answered.',
  '',
  '## Why the ratio against `@fastify/jwt` moved (issue 17)',
  '',
  'Until issue 17, `@fastify/jwt` verified a token from our signer (header `typ: at+jwt` and `kid`,',
  'claims `iss`, `aud`, `jti`), with `allowedIss`/`allowedAud` replacing its default verify options,',
  'and `@fastify/cookie` registered on the header server too. None of it was what its users write;',
  'none of it explains the gap either. `node bench/run.mjs --only=jwt-setup` loads both setups side',
  'by side: in a full-settings run (5 rounds of 6 s, load average 7 to 10 from other jobs on the',
  'machine) `@fastify/jwt` added 41.5 µs of server CPU per request over the bare route in its own',
  'setup and 35.4 µs in the former one (the former over the own, round by round: 0.86, 0.81–1.76;',
  'a second such run: 81.2 and 73.4 µs, 0.98, 0.71–1.54);',
  'in-process, `request.jwtVerify()` costs 10–11 µs in either.',
  '',
  'What moves the req/s ratio is the cost of everything else. With each server CPU-bound, ours over',
  '`@fastify/jwt` is (h + their added cost) / (h + ours), h being the server CPU of the bare route.',
  'The 2.61x came from runs where h was 16.7 µs (hello at 58,000 req/s on a quiet machine) and',
  '`@fastify/jwt` added 36 µs, ours 5.3 µs: (16.7 + 36) / (16.7 + 5.3) = 2.4. The independent harness\'s 0.87 and',
  '0.53 of hello fit h = 35 to 43 µs with the same added costs, hence its 1.63x; on the busy machine',
  'of these runs h was 27 to 69 µs and the ratio 1.2x to 1.9x. What `@fastify/jwt` adds moves as',
  'well (27 to 81 µs over these runs), less than the ratio does. So the req/s ratio is reported with',
  'its spread over the rounds, next to the CPU each library adds per request, which does not depend',
  'on h.',
  ''
]

export function renderMarkdown (results, targets, environment) {
  const lines = [
    '# Benchmark results',
    '',
    `The last full run of \`npm run bench\` (${environment.date.slice(0, 10)}), produced by the code in this folder.`,
    'Every ratio compares contenders measured in the same run: medians of interleaved rounds (with',
    'the lowest and highest round), HTTP servers in processes of their own, autocannon in another,',
    'all on 127.0.0.1.',
    '',
    '| machine | |',
    '| --- | --- |',
    `| CPU | ${environment.cpu} |`,
    `| memory | ${environment.memory} |`,
    `| Node.js | ${environment.node} |`,
    ...Object.entries(environment.peers).map(([name, value]) => `| ${name} | ${value} |`),
    `| duration | ${environment.seconds} s |`,
    ...(environment.load === undefined ? [] : [`| load average (1 min; other jobs on the machine) | ${environment.load} |`]),
    '',
    ...(results.http === undefined ? [] : SETUP_NOTES),
    '## Targets',
    '',
    'HTTP ratios are taken round by round (the rounds interleave the servers): the median over',
    'the rounds, and the lowest and highest round.',
    '',
    '| target | measured | rounds (min–max) | required | |',
    '| --- | ---: | ---: | --- | --- |',
    ...targets.map(targetLine).map((t) => `| ${t.name} | ${t.value} | ${t.spread} | ${t.bound} | ${t.verdict} |`),
    '',
    '## Measurements',
    ''
  ]
  for (const entry of rows(results, environment)) {
    if (entry.section !== undefined) lines.push('', `**${entry.section}**`, '', '| | |', '| --- | ---: |')
    else lines.push(`| ${entry.what} | ${entry.value} ${entry.unit} |`)
  }
  return `${lines.join('\n')}\n`
}
