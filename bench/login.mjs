// Login throughput against bare bcrypt at the same cost, and whether other routes and
// the event loop stay responsive during the burst.
import { execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { median } from './measure.mjs'

const run = promisify(execFile)
const PASSWORD = 'correct horse battery staple'

async function bareBcrypt (cost, concurrency, seconds) {
  const { stdout } = await run(process.execPath, [new URL('./bcrypt-bare.mjs', import.meta.url).pathname, String(cost), String(concurrency), String(seconds)])
  return JSON.parse(stdout).verifiesPerSecond
}

async function startLoginServer (cost, secret) {
  const child = spawn(process.execPath, [new URL('./login-server.mjs', import.meta.url).pathname, String(cost), secret, PASSWORD], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => { if (line.startsWith('listening ')) resolve(Number(line.slice(10))) })
    child.on('exit', (code) => reject(new Error(`login server exited with ${code}`)))
  })
  return { child, origin: `http://127.0.0.1:${port}` }
}

async function burst (origin, concurrency, seconds) {
  await fetch(`${origin}/__loop/reset`, { method: 'POST' })
  const end = performance.now() + seconds * 1000
  const start = performance.now()
  let logins = 0
  let failures = 0
  const probes = { sent: 0, ok: 0, latencies: [] }
  const prober = (async () => {
    while (performance.now() < end) {
      const sent = performance.now()
      const res = await fetch(`${origin}/healthz`)
      probes.sent++
      if (res.status === 200) probes.ok++
      probes.latencies.push(performance.now() - sent)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const res = await fetch(`${origin}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: PASSWORD }) })
      await res.arrayBuffer()
      if (res.status === 200) logins++
      else failures++
    }
  }))
  await prober
  const loop = await (await fetch(`${origin}/__loop`)).json()
  return { loginsPerSecond: logins / ((performance.now() - start) / 1000), failures, probes, loop }
}

export async function runLogin ({ cost, concurrency, seconds, rounds, secret, onProgress }) {
  const server = await startLoginServer(cost, secret)
  try {
    const bare = []
    const bursts = []
    for (let round = 0; round < rounds; round++) {
      onProgress?.(`login round ${round + 1}/${rounds}: bare bcrypt`)
      bare.push(await bareBcrypt(cost, concurrency, seconds))
      onProgress?.(`login round ${round + 1}/${rounds}: POST /auth/login`)
      bursts.push(await burst(server.origin, concurrency, seconds))
    }
    const latencies = bursts.flatMap((b) => b.probes.latencies).sort((a, b) => a - b)
    return {
      cost,
      concurrency,
      bareVerifiesPerSecond: median(bare),
      loginsPerSecond: median(bursts.map((b) => b.loginsPerSecond)),
      // Each round's login rate against the bare rate measured just before it: the
      // machine's speed drifts, so adjacent measurements make the fairest pairs.
      ratio: median(bursts.map((b, i) => b.loginsPerSecond / bare[i])),
      failedLogins: bursts.reduce((sum, b) => sum + b.failures, 0),
      probesSent: bursts.reduce((sum, b) => sum + b.probes.sent, 0),
      probesOk: bursts.reduce((sum, b) => sum + b.probes.ok, 0),
      probeP99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      eventLoopP99Ms: Math.max(...bursts.map((b) => b.loop.p99Ms))
    }
  } finally {
    server.child.kill('SIGTERM')
  }
}
