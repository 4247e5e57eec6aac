// Memory under many distinct tokens: `node --expose-gc bench/memory.mjs <seconds> <cacheSize>`.
// Signs and verifies distinct tokens for the given time, sampling the heap after a full GC.
import { randomBytes } from 'node:crypto'
import { systemClock } from '../dist/esm/lib/clock.js'
import { AccessTokens } from '../dist/esm/lib/tokens/access-tokens.js'
import { createKeyRing } from '../dist/esm/lib/tokens/key-ring.js'
import { RevocationList } from '../dist/esm/lib/sessions/revocation-list.js'

const [seconds, cacheSize] = process.argv.slice(2).map(Number)
const tokens = new AccessTokens({
  ring: createKeyRing([{ secret: randomBytes(32) }]), issuer: 'bench', audience: 'bench', ttlSeconds: 900, clockToleranceSeconds: 5, maxTokenLength: 4096, cacheSize, maxTtlSeconds: 86400, clock: systemClock
})
// The revocation check is on, with revocations of its own, as in production.
const revocations = new RevocationList()
for (let i = 0; i < 1000; i++) revocations.add({ kind: 'token', subject: `revoked-${i}`, version: 0, expiresAt: Date.now() / 1000 + 900 })
tokens.useRevocationCheck((claims) => { if (revocations.isRevoked(claims)) throw new Error('revoked') })

const heapMb = () => { globalThis.gc(); return process.memoryUsage().heapUsed / 1048576 }
const samples = [{ tokens: 0, heapMb: heapMb() }]
const end = performance.now() + seconds * 1000
let verified = 0
let nextSample = 100_000
while (performance.now() < end) {
  for (let i = 0; i < 1000; i++) {
    const { token } = tokens.sign({ sub: `user-${verified}` })
    tokens.verify(token)
    verified++
  }
  if (verified >= nextSample) {
    samples.push({ tokens: verified, heapMb: heapMb() })
    nextSample += 100_000
  }
}
samples.push({ tokens: verified, heapMb: heapMb() })
// Using `tokens` after the last sample keeps it (and its cache) alive until then.
console.log(JSON.stringify({ tokens: verified, samples, cacheSize: tokens.constructor === AccessTokens ? cacheSize : 0 }))
