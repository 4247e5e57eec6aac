// HTTP benchmarks: autocannon (in this process) against each server variant (each in a
// process of its own) on 127.0.0.1, alternating variants round by round. The resource-server
// variants (-jwks) get their keys from a local issuer process, which counts their fetches.
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { median, processCpuMicros } from './measure.mjs'

const COOKIE = '__Host-access-token'
export const VARIANTS = ['hello', 'ours-header', 'ours-cookie', 'jwt-header', 'jwt-cookie', 'ours-jwks', 'jwt-jwks']
const JWKS_VARIANTS = VARIANTS.filter((variant) => variant.endsWith('-jwks'))

async function startIssuer () {
  const child = spawn(process.execPath, [new URL('./jwks-issuer.mjs', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] })
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => { if (line.startsWith('ready ')) resolve(JSON.parse(line.slice(6))) })
    child.on('exit', (code) => reject(new Error(`JWKS issuer exited with ${code}`)))
  })
  return { child, ...ready }
}

async function startServer (variant, secret, issuer) {
  const child = spawn(process.execPath, [new URL('./http-server.mjs', import.meta.url).pathname, variant, secret, issuer.origin], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => { if (line.startsWith('listening ')) resolve(Number(line.slice(10))) })
    child.on('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)))
  })
  return { variant, child, port }
}

function headersFor (variant, token) {
  if (variant.endsWith('-header') || variant.endsWith('-jwks')) return { authorization: `Bearer ${token}` }
  if (variant.endsWith('-cookie')) return { cookie: `${COOKIE}=${token}` }
  return {}
}

async function load (server, token, seconds, connections) {
  const run = autocannon({ url: `http://127.0.0.1:${server.port}/me`, connections, duration: seconds, headers: headersFor(server.variant, token) })
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

/**
 * Requests per second and server CPU per request, median over the rounds, for every
 * variant; the same token for every protected variant (ours and @fastify/jwt both
 * verify it: HS256, same secret, iss and aud), and the same RS256 token of the local
 * issuer for both resource servers. Also how many times each resource server fetched
 * the JWKS during the whole run, warm-up included.
 */
export async function runHttp ({ rounds, seconds, warmupSeconds, connections, secret, token, onProgress }) {
  const servers = []
  let issuer
  try {
    issuer = await startIssuer()
    const tokenFor = (variant) => variant.endsWith('-jwks') ? issuer.token : token
    for (const variant of VARIANTS) servers.push(await startServer(variant, secret, issuer))
    for (const server of servers) {
      const check = await fetch(`http://127.0.0.1:${server.port}/me`, { headers: headersFor(server.variant, tokenFor(server.variant)) })
      if (check.status !== 200) throw new Error(`${server.variant} answered ${check.status} to the benchmark token: ${await check.text()}`)
      await load(server, tokenFor(server.variant), warmupSeconds, connections)
    }
    const samples = Object.fromEntries(VARIANTS.map((variant) => [variant, { rps: [], cpuMicrosPerRequest: [], errors: 0, non2xx: 0 }]))
    for (let round = 0; round < rounds; round++) {
      for (const server of servers) {
        onProgress?.(`http round ${round + 1}/${rounds}: ${server.variant}`)
        const cpuBefore = await processCpuMicros(server.child.pid)
        const result = await load(server, tokenFor(server.variant), seconds, connections)
        const cpu = await processCpuMicros(server.child.pid) - cpuBefore
        const sample = samples[server.variant]
        sample.rps.push(result.requests.average)
        sample.cpuMicrosPerRequest.push(cpu / result.requests.total)
        sample.errors += result.errors + result.timeouts
        sample.non2xx += result.non2xx
      }
    }
    const fetches = await jwksFetches(issuer, servers.filter((server) => JWKS_VARIANTS.includes(server.variant)))
    return Object.fromEntries(Object.entries(samples).map(([variant, s]) => [variant, {
      rps: median(s.rps),
      cpuMicrosPerRequest: median(s.cpuMicrosPerRequest),
      errors: s.errors,
      non2xx: s.non2xx,
      ...(variant in fetches ? { jwksFetches: fetches[variant] } : {})
    }]))
  } finally {
    for (const server of servers) server.child.kill('SIGTERM')
    issuer?.child.kill('SIGTERM')
  }
}
