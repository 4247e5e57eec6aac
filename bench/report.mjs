// Renders benchmark results as a plain-text table (console) and as Markdown (RESULTS.md).

import { ASYMMETRIC_ALGORITHMS } from './micro.mjs'

const rate = (value) => Math.round(value).toLocaleString('en')
const fixed = (value, digits = 2) => Number(value).toFixed(digits)

// What the API-key variants are, in words.
const HTTP_LABELS = { 'keys-app-token': 'API keys on: with an access token', 'keys-app-key': 'API keys on: with an API key' }

function rows (results) {
  const { micro, http, keyRevocation, login, memory } = results
  const out = []
  const section = (title) => out.push({ section: title })
  const row = (what, value, unit = 'ops/s') => out.push({ what, value, unit })
  if (micro !== undefined) microRows(micro, section, row)
  if (http !== undefined) {
    section('HTTP GET /me, autocannon -c 50 (req/s, server CPU per request)')
    for (const [variant, value] of Object.entries(http)) row(HTTP_LABELS[variant] ?? variant, `${rate(value.rps)} req/s, ${fixed(value.cpuMicrosPerRequest, 1)} µs CPU`, '')
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
  return { name: target.name, value: fixed(target.value), bound, verdict: target.pass ? 'pass' : 'MISSED' }
}

export function renderText (results, targets, environment) {
  const lines = [`fastify-token-auth benchmark (${environment.mode}): ${environment.cpu}, Node ${environment.node}, ${environment.seconds} s`]
  for (const entry of rows(results)) {
    if (entry.section !== undefined) lines.push('', entry.section)
    else lines.push(`  ${entry.what.padEnd(44)} ${String(entry.value).padStart(14)} ${entry.unit}`)
  }
  lines.push('', 'Targets')
  for (const target of targets.map(targetLine)) lines.push(`  ${target.verdict.padEnd(6)} ${target.name.padEnd(72)} ${target.value.padStart(10)}  (${target.bound})`)
  return lines.join('\n')
}

export function renderMarkdown (results, targets, environment) {
  const lines = [
    '# Benchmark results',
    '',
    `The last full run of \`npm run bench\` (${environment.date.slice(0, 10)}), produced by the code in this folder.`,
    'Every ratio compares contenders measured in the same run: medians of interleaved rounds,',
    'HTTP servers in processes of their own, autocannon in another, all on 127.0.0.1.',
    '',
    '| machine | |',
    '| --- | --- |',
    `| CPU | ${environment.cpu} |`,
    `| memory | ${environment.memory} |`,
    `| Node.js | ${environment.node} |`,
    ...Object.entries(environment.peers).map(([name, value]) => `| ${name} | ${value} |`),
    `| duration | ${environment.seconds} s |`,
    '',
    '## Targets',
    '',
    '| target | measured | required | |',
    '| --- | ---: | --- | --- |',
    ...targets.map(targetLine).map((t) => `| ${t.name} | ${t.value} | ${t.bound} | ${t.verdict} |`),
    '',
    '## Measurements',
    ''
  ]
  for (const entry of rows(results)) {
    if (entry.section !== undefined) lines.push('', `**${entry.section}**`, '', '| | |', '| --- | ---: |')
    else lines.push(`| ${entry.what} | ${entry.value} ${entry.unit} |`)
  }
  return `${lines.join('\n')}\n`
}
