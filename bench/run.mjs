// `npm run bench` (full, writes bench/RESULTS.md) and `npm run bench:quick` (under a
// minute). Prints medians and the target ratios; exits 1 when a target is missed.
// `-- --only=api-keys` (or any of micro, http, api-keys, login, memory, comma-separated)
// runs those groups alone, and never writes RESULTS.md. `--only=jwt-setup` (never in a
// default run) loads @fastify/jwt in its own default setup next to the setup this benchmark
// used before, to show what the change made.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { promisify } from 'node:util'
import { systemClock } from '../dist/esm/lib/clock.js'
import { AccessTokens } from '../dist/esm/lib/tokens/access-tokens.js'
import { createKeyRing } from '../dist/esm/lib/tokens/key-ring.js'
import { API_KEY_VARIANTS, JWT_SETUP_VARIANTS, runHttp, VARIANTS } from './http.mjs'
import { runKeyRevocation } from './key-revocation.mjs'
import { runLogin } from './login.mjs'
import { runMicro } from './micro.mjs'
import { peerVersion } from './peers.mjs'
import { renderMarkdown, renderText } from './report.mjs'
import { evaluate } from './targets.mjs'

const quick = process.argv.includes('--quick')
const settings = quick
  ? { micro: { rounds: 7, ms: 60 }, http: { rounds: 3, seconds: 1.5, warmupSeconds: 0.5, connections: 50 }, keyRevocation: { trials: 5 }, login: { rounds: 1, seconds: 5 }, memory: { seconds: 4, requiredTokens: 100_000 } }
  : { micro: { rounds: 15, ms: 300 }, http: { rounds: 5, seconds: 6, warmupSeconds: 2, connections: 50 }, keyRevocation: { trials: 20 }, login: { rounds: 5, seconds: 6 }, memory: { seconds: 60, requiredTokens: 1_000_000 } }

// `--connections=10` loads the HTTP servers with that many connections instead of 50.
const connections = process.argv.find((arg) => arg.startsWith('--connections='))?.slice('--connections='.length)
if (connections !== undefined) settings.http.connections = Number(connections)

const GROUPS = ['micro', 'http', 'api-keys', 'login', 'memory']
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',')
const unknownGroup = only?.find((group) => ![...GROUPS, 'jwt-setup'].includes(group))
if (unknownGroup !== undefined) throw new Error(`--only takes ${[...GROUPS, 'jwt-setup'].join(', ')} (comma-separated); got ${unknownGroup}`)
const runs = (group) => only === undefined || only.includes(group)

const progress = (message) => { process.stderr.write(`  ${new Date().toISOString().slice(11, 19)} ${message}\n`) }
const version = (name) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url))).version

async function memory ({ seconds, requiredTokens }) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', new URL('./memory.mjs', import.meta.url).pathname, String(seconds), '10000'])
  const { tokens, samples } = JSON.parse(stdout)
  const filled = samples.filter((sample) => sample.tokens >= 200_000)
  const steady = filled.length > 0 ? filled : samples.slice(1)
  const growthMb = Math.max(...steady.map((s) => s.heapMb)) - steady[0].heapMb
  return { tokens, requiredTokens, growthMb, heapMb: steady.at(-1).heapMb, samples }
}

const secret = randomBytes(32).toString('base64url')
// Every server signs its own token; this one, from our signer, only loads jwt-header-before.
const { token } = new AccessTokens({ ring: createKeyRing([{ secret }]), issuer: 'bench-issuer', audience: 'bench-api', ttlSeconds: 7200, clockToleranceSeconds: 0, maxTokenLength: 4096, cacheSize: 0, maxTtlSeconds: 86400, clock: systemClock })
  .sign({ sub: 'user-123', roles: ['admin'] })

const started = Date.now()
// Other work on the machine shows in every figure: the load average is recorded with them.
const loadAtStart = loadavg()[0]
progress(`${quick ? 'quick' : 'full'} run${only === undefined ? '' : ` of ${only.join(', ')}`}`)
const results = {}
if (runs('micro')) {
  progress('micro-benchmarks')
  results.micro = await runMicro(settings.micro)
}
const httpVariants = [...new Set([...runs('http') ? VARIANTS : [], ...only?.includes('jwt-setup') ? JWT_SETUP_VARIANTS : [], ...runs('api-keys') ? API_KEY_VARIANTS : []])]
if (httpVariants.length > 0) {
  progress('HTTP benchmarks')
  results.http = await runHttp({ ...settings.http, variants: httpVariants, secret, token, onProgress: progress })
}
if (runs('api-keys')) results.keyRevocation = await runKeyRevocation({ ...settings.keyRevocation, onProgress: progress })
if (runs('login')) {
  progress('login benchmark')
  results.login = await runLogin({ cost: 12, concurrency: 8, ...settings.login, secret, onProgress: progress })
}
if (runs('memory')) {
  progress(`memory: distinct tokens for ${settings.memory.seconds} s`)
  results.memory = await memory(settings.memory)
}

const environment = {
  date: new Date().toISOString(),
  mode: `${quick ? 'quick' : 'full'}${only === undefined ? '' : `, only ${only.join(', ')}`}`,
  cpu: `${cpus().length} × ${cpus()[0].model}`,
  memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
  node: process.version,
  peers: {
    ...Object.fromEntries(['fastify', 'fast-jwt', '@fastify/jwt', '@fastify/cookie', 'get-jwks', 'jsonwebtoken', 'jose', '@node-rs/bcrypt', 'autocannon'].map((name) => [name, version(name)])),
    ...peerVersion('better-auth', 'better-auth') === undefined ? {} : { 'better-auth (bench/peers/better-auth)': peerVersion('better-auth', 'better-auth') }
  },
  settings,
  seconds: Math.round((Date.now() - started) / 1000),
  load: `${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`
}
const targets = evaluate(results)
console.log(renderText(results, targets, environment))
writeFileSync(new URL('./results-latest.json', import.meta.url), JSON.stringify({ environment, results, targets }, null, 2))
if (!quick && only === undefined) writeFileSync(new URL('./RESULTS.md', import.meta.url), renderMarkdown(results, targets, environment))
const missed = targets.filter((target) => !target.pass)
if (missed.length > 0) {
  console.log(`\n${missed.length} target(s) missed: ${missed.map((target) => target.name).join('; ')}`)
  process.exit(1)
}
console.log('\nall targets met')
