import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import type { Readable } from 'node:stream'
import Fastify from 'fastify'
import { SignJWT } from 'jose'
import type { Test } from 'tap'

/**
 * A real identity provider on 127.0.0.1 for resource-server tests: it publishes a JWKS at
 * GET /jwks and GET /.well-known/jwks.json and signs tokens with jose, as an IdP would.
 *
 *   const issuer = await startLocalIssuer(t)            // one Ed25519 key; closed at teardown
 *   const token = await issuer.sign({ sub: 'u1' })       // iss, iat, exp filled in; first key
 *   const rsa = issuer.addKey(generateIssuerKey('RS256'))
 *   await issuer.sign({ sub: 'u1' }, { kid: rsa.kid })   // alg is the key's unless given
 *   issuer.rotate()                                      // new key of the first key's alg; oldest removed
 *   issuer.addEntry({ kty: 'oct', k: '…', kid: 'x' })    // published verbatim (odd or hostile entries)
 *   issuer.setHeaders({ 'cache-control': 'max-age=60' }) // added to every JWKS answer
 *   issuer.setStatus(500)                                // the JWKS answers with this status
 *   issuer.setBody('{not json')                          // replaces the document (string, Buffer,
 *                                                        // or a function making a stream: chunked, no length)
 *   issuer.hang()                                        // accept and never answer ('body': headers, then silence)
 *   issuer.hang(false)                                   // back to normal
 *   issuer.requests                                      // JWKS requests received
 *
 * An IssuerKey's `jwk` is what gets published; change it before addKey to publish something
 * else for a key that still signs (private members, a wrong alg, another kid).
 */

export type IssuerAlgorithm = 'EdDSA' | 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512'

export interface IssuerKey {
  kid: string
  alg: IssuerAlgorithm
  privateKey: KeyObject
  publicKey: KeyObject
  /** The JWKS entry published for this key. */
  jwk: Record<string, unknown>
}

export interface LocalIssuerOptions {
  /** Keys published at start. Default: one Ed25519 key. */
  keys?: IssuerKey[]
}

export interface SignOptions {
  kid?: string
  alg?: string
  typ?: string
  /** Token lifetime in seconds from now (by the real clock). Default 300. */
  expiresIn?: number
}

export type BodyOverride = string | Buffer | (() => Readable) | undefined

export interface LocalIssuer {
  /** http://127.0.0.1:port/ */
  url: URL
  /** http://127.0.0.1:port/jwks */
  jwksUrl: URL
  /** The `iss` the issuer writes: its base URL without the trailing slash. */
  issuer: string
  readonly keys: readonly IssuerKey[]
  addKey: (key?: IssuerKey) => IssuerKey
  removeKey: (kid: string) => void
  addEntry: (entry: unknown) => void
  rotate: () => { added: IssuerKey, removed: IssuerKey | undefined }
  sign: (claims: Record<string, unknown>, options?: SignOptions) => Promise<string>
  setHeaders: (headers: Record<string, string>) => void
  setStatus: (status: number) => void
  setBody: (body: BodyOverride) => void
  hang: (mode?: boolean | 'headers' | 'body') => void
  readonly requests: number
  close: () => Promise<void>
}

let serial = 0

/** A fresh key pair for `alg` (RSA 2048 unless `rsaBits` says otherwise), published with kid, alg and use. */
export function generateIssuerKey (alg: IssuerAlgorithm = 'EdDSA', options: { kid?: string, rsaBits?: number } = {}): IssuerKey {
  const pair = alg === 'EdDSA'
    ? generateKeyPairSync('ed25519')
    : alg.startsWith('ES')
      ? generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg as 'ES256'] })
      // JWKs have no RSA-PSS key type: IdPs publish a plain RSA key with alg PS*.
      : generateKeyPairSync('rsa', { modulusLength: options.rsaBits ?? 2048 })
  const kid = options.kid ?? `${alg.toLowerCase()}-${++serial}-${randomUUID().slice(0, 8)}`
  return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } }
}

export async function startLocalIssuer (t: Test, options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const keys: IssuerKey[] = options.keys ?? [generateIssuerKey('EdDSA')]
  const entries: unknown[] = []
  let headers: Record<string, string> = {}
  let status = 200
  let body: BodyOverride
  let hanging: false | 'headers' | 'body' = false
  let requests = 0

  // Closing must not wait for the answers a hanging issuer never gives.
  const app = Fastify({ forceCloseConnections: true })
  const jwks = async (_request: unknown, reply: import('fastify').FastifyReply): Promise<unknown> => {
    requests++
    if (hanging === 'headers') return await new Promise(() => {})
    if (hanging === 'body') {
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'application/json' })
      reply.raw.write('{"keys":')
      return await new Promise(() => {})
    }
    reply.status(status).headers(headers).type('application/json')
    if (body !== undefined) return typeof body === 'function' ? body() : body
    return { keys: [...keys.map((key) => key.jwk), ...entries] }
  }
  app.get('/jwks', jwks)
  app.get('/.well-known/jwks.json', jwks)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address() as { port: number }
  const url = new URL(`http://127.0.0.1:${address.port}/`)
  const issuer = url.href.slice(0, -1)
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await app.close()
  }
  t.teardown(close)

  const find = (kid: string | undefined): IssuerKey => {
    const key = kid === undefined ? keys[0] : keys.find((candidate) => candidate.kid === kid)
    if (key === undefined) throw new Error(`the local issuer has no key ${String(kid)}`)
    return key
  }

  return {
    url,
    jwksUrl: new URL('/jwks', url),
    issuer,
    keys,
    addKey (key = generateIssuerKey(keys[0]?.alg ?? 'EdDSA')) {
      keys.push(key)
      return key
    },
    removeKey (kid) {
      keys.splice(keys.indexOf(find(kid)), 1)
    },
    addEntry (entry) {
      entries.push(entry)
    },
    rotate () {
      const removed = keys.shift()
      const added = generateIssuerKey(removed?.alg ?? 'EdDSA')
      keys.push(added)
      return { added, removed }
    },
    async sign (claims, signOptions = {}) {
      const key = find(signOptions.kid)
      const now = Math.floor(Date.now() / 1000)
      return await new SignJWT({ iss: issuer, iat: now, exp: now + (signOptions.expiresIn ?? 300), ...claims })
        .setProtectedHeader({ alg: signOptions.alg ?? key.alg, kid: key.kid, typ: signOptions.typ ?? 'JWT' })
        .sign(key.privateKey)
    },
    setHeaders (next) {
      headers = { ...next }
    },
    setStatus (next) {
      status = next
    },
    setBody (next) {
      body = next
    },
    hang (mode = true) {
      hanging = mode === true ? 'headers' : mode
    },
    get requests () {
      return requests
    },
    close
  }
}
