// A stand-in identity provider for the resource-server benchmark: `node bench/jwks-issuer.mjs`.
// Serves its JWKS (one RS256 and one ES256 key) at /.well-known/jwks.json on 127.0.0.1,
// signs an RS256 access token (RFC 9068 shape) with its origin as `iss`, and counts the JWKS
// fetches of each client process. Prints `ready {"origin", "token"}` once listening.
// GET /bench/fetches answers `{ byPid: { <pid>: <count> }, unattributed }`.
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createServer } from 'node:http'

const AUDIENCE = 'bench-api' // as in http-server.mjs
const JWKS_PATH = '/.well-known/jwks.json'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwks = JSON.stringify({
  keys: [
    { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' },
    { ...ec.publicKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' }
  ]
})

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

function rs256Token (origin) {
  const now = Math.floor(Date.now() / 1000)
  const header = b64url({ alg: 'RS256', typ: 'at+jwt', kid: 'bench-rs256' })
  const payload = b64url({ iss: origin, aud: AUDIENCE, sub: 'user-123', client_id: 'bench-client', iat: now, exp: now + 7200, jti: randomUUID() })
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), rsa.privateKey).toString('base64url')
  return `${header}.${payload}.${signature}`
}

/**
 * The process holding the client end of a connection to this server, found through
 * /proc (Linux, like the CPU measurement): the socket whose local port is the client's
 * port, then the process with that socket open. Looked up while the request is open,
 * so the connection still exists. Only JWKS fetches pay for it, and they are rare.
 */
function clientPid (clientPort, serverPort) {
  let inode
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 10) continue
    const local = parseInt(fields[1].split(':')[1], 16)
    const remote = parseInt(fields[2].split(':')[1], 16)
    if (local === clientPort && remote === serverPort) { inode = fields[9]; break }
  }
  if (inode === undefined) return undefined
  const target = `socket:[${inode}]`
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let fds
    try { fds = readdirSync(`/proc/${pid}/fd`) } catch { continue }
    for (const fd of fds) {
      try { if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return Number(pid) } catch {}
    }
  }
  return undefined
}

const byPid = {}
let unattributed = 0

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === JWKS_PATH) {
    const pid = clientPid(request.socket.remotePort, server.address().port)
    if (pid === undefined) unattributed++
    else byPid[pid] = (byPid[pid] ?? 0) + 1
    // What IdPs commonly send: cacheable for a while.
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' })
    response.end(jwks)
  } else if (request.method === 'GET' && request.url === '/bench/fetches') {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ byPid, unattributed }))
  } else {
    response.writeHead(404).end()
  }
})

server.listen(0, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${server.address().port}`
  console.log(`ready ${JSON.stringify({ origin, token: rs256Token(origin) })}`)
})
process.on('SIGTERM', () => { server.close(); process.exit(0) })
