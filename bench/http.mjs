// HTTP benchmarks: autocannon (in this process) against each server variant (each in a
// process of its own) on 127.0.0.1, alternating variants round by round. The resource-server
// variants (-jwks) get their keys from a local issuer process, which counts their fetches.
// The better-auth variants run from bench/peers/better-auth (installed there on first use).
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { median, processCpuMicros } from './measure.mjs'
import { ensurePeer } from './peers.mjs'

const COOKIE = '__Host-access-token'
export const VARIANTS = ['hello', 'ours-header', 'ours-cookie', 'jwt-header', 'jwt-cookie', 'ours-jwks', 'jwt-jwks', 'better-auth-default', 'better-auth-cookie-cache']
/** @fastify/jwt as this benchmark set it up before, against its own default setup (`--only=jwt-setup`). */
export const JWT_SETUP_VARIANTS = ['hello', 'ours-header', 'jwt-header', 'jwt-header-before']
/**
 * One app with API keys on, its route opened to keys: loaded once with an access token and
 * once with an API key of the same user (the server makes both and prints them).
 */
export const API_KEY_VARIANTS = ['keys-app-token', 'keys-app-key']
const JWKS_VARIANTS = VARIANTS.filter((variant) => variant.endsWith('-jwks'))
// The server process a variant is measured on: its own, unless it shares one.
const SERVER_OF = { 'keys-app-token': 'ours-keys', 'keys-app-key': 'ours-keys' }
const serverOf = (variant) => SERVER_OF[variant] ?? variant

async function startIssuer () {
  const child = spawn(process.execPath, [new URL('./jwks-issuer.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] })
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => { if (line.startsWith('ready ')) resolve(JSON.parse(line.slice(6))) })
    child.on('exit', (code) => reject(new Error(`JWKS issuer exited with ${code}`)))
  })
  return { child, ...ready }
}

/** A server process; `credentials` are the ones it made itself and printed (`credentials {…}`), if any. */
async function startServer (variant, secret, issuer, onProgress) {
  const betterAuthMode = variant.startsWith('better-auth-') ? variant.slice('better-auth-'.length) : undefined
  const args = betterAuthMode === undefined
    ? [new URL('./http-server.mjs', import.meta.url).pathname, variant, secret, issuer.origin]
    : [`${await ensurePeer('better-auth', onProgress)}server.mjs`, betterAuthMode]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let credentials
  let database
  const port = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('credentials ')) credentials = JSON.parse(line.slice(12))
      if (line.startsWith('database ')) database = line.slice(9)
      if (line.startsWith('listening ')) resolve(Number(line.slice(10)))
    })
    child.on('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)))
  })
  return { variant, child, port, credentials, database }
}

function headersFor (variant, token) {
  if (variant.startsWith('better-auth-')) return { cookie: token }
  if (variant.endsWith('-header') || variant.endsWith('-header-before') || variant.endsWith('-jwks') || variant.startsWith('keys-app-')) return { authorization: `Bearer ${token}` }
  if (variant.endsWith('-cookie')) return { cookie: `${COOKIE}=${token}` }
  return {}
}

/**
 * better-auth's session cookies, from a fresh sign-in: its cookie cache lasts 5 minutes by
 * default, longer than a full run, so each round starts with a fresh one, as a browser
 * signing in again would have.
 */
async function betterAuthCookie (server) {
  const answer = await fetch(`http://127.0.0.1:${server.port}/bench/credentials`)
  if (answer.status !== 200) throw new Error(`${server.variant} could not sign in: ${answer.status} ${await answer.text()}`)
  return (await answer.json()).cookie
}

async function load (target, seconds, connections) {
  const run = autocannon({ url: `http://127.0.0.1:${target.server.port}/me`, connections, duration: seconds, headers: headersFor(target.variant, target.token) })
  const result = await run
  return result
}

/**
 * JWKS fetches the issuer saw from each resource-server variant since it started. A fetch
 * it could not trace to a process is counted against every variant, so it can only make
 * a count look worse.
 */
async function jwksFetches (issuer, servers) {
  const { byPid, unattributed } = await (await fetch(`${issuer.origin}/bench/fetches`)).json()
  return Object.fromEntries(servers.map((server) => [server.variant, (byPid[server.child.pid] ?? 0) + unattributed]))
}

/** The credential a variant is loaded with: the one its own server made, as a client would get it. */
async function credentialFor (variant, server, issuer, token) {
  if (variant.endsWith('-jwks')) return issuer.token
  if (variant.startsWith('better-auth-')) return await betterAuthCookie(server)
  if (variant === 'keys-app-key') return server.credentials.key
  if (server.credentials?.token !== undefined) return server.credentials.token
  // jwt-header-before only: the loader's token, signed by our signer.
  return token
}

const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) })

/**
 * Requests per second and server CPU per request for every variant: each round's figures
 * (`rounds`, the rounds interleaving the variants, so that ratios can be taken round by
 * round) and their median, min and max. Every library verifies a credential it issued
 * itself; the two resource servers verify the same RS256 token of the local issuer. Also
 * how many times each resource server fetched the JWKS during the whole run, warm-up
 * included. The API-key variants share one server, loaded in turn with the access token
 * and the key it made (`variants` picks).
 */
export async function runHttp ({ variants = VARIANTS, rounds, seconds, warmupSeconds, connections, secret, token, onProgress }) {
  const servers = new Map()
  let issuer
  try {
    issuer = await startIssuer()
    for (const variant of variants) {
      const name = serverOf(variant)
      if (!servers.has(name)) servers.set(name, await startServer(name, secret, issuer, onProgress))
    }
    const targets = []
    for (const variant of variants) {
      const server = servers.get(serverOf(variant))
      targets.push({ variant, server, token: await credentialFor(variant, server, issuer, token) })
    }
    for (const target of targets) {
      // The first request also fills the API-key cache: the rounds measure cached keys, as tokens are.
      const check = await fetch(`http://127.0.0.1:${target.server.port}/me`, { headers: headersFor(target.variant, target.token) })
      if (check.status !== 200) throw new Error(`${target.variant} answered ${check.status} to the benchmark credential: ${await check.text()}`)
      await load(target, warmupSeconds, connections)
    }
    const samples = Object.fromEntries(variants.map((variant) => [variant, { rps: [], cpuMicrosPerRequest: [], errors: 0, non2xx: 0 }]))
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        onProgress?.(`http round ${round + 1}/${rounds}: ${target.variant}`)
        if (target.variant.startsWith('better-auth-') && round > 0) target.token = await betterAuthCookie(target.server)
        const cpuBefore = await processCpuMicros(target.server.child.pid)
        const result = await load(target, seconds, connections)
        const cpu = await processCpuMicros(target.server.child.pid) - cpuBefore
        const sample = samples[target.variant]
        sample.rps.push(result.requests.average)
        sample.cpuMicrosPerRequest.push(cpu / result.requests.total)
        sample.errors += result.errors + result.timeouts
        sample.non2xx += result.non2xx
      }
    }
    const jwksServers = [...servers.values()].filter((server) => JWKS_VARIANTS.includes(server.variant))
    const fetches = jwksServers.length === 0 ? {} : await jwksFetches(issuer, jwksServers)
    return Object.fromEntries(Object.entries(samples).map(([variant, s]) => [variant, {
      rps: spread(s.rps),
      cpuMicrosPerRequest: spread(s.cpuMicrosPerRequest),
      rounds: { rps: s.rps, cpuMicrosPerRequest: s.cpuMicrosPerRequest },
      errors: s.errors,
      non2xx: s.non2xx,
      ...(servers.get(serverOf(variant)).database === undefined ? {} : { database: servers.get(serverOf(variant)).database }),
      ...(variant in fetches ? { jwksFetches: fetches[variant] } : {})
    }]))
  } finally {
    for (const server of servers.values()) server.child.kill('SIGTERM')
    issuer?.child.kill('SIGTERM')
  }
}
