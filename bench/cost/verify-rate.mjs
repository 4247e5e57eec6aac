// Verification rate through AccessTokens with the revocation check on, with the list
// at several sizes, measured in interleaved rounds so that machine noise hits all alike.
import { randomBytes } from 'node:crypto'
import { systemClock } from '../../dist/esm/lib/clock.js'
import { AccessTokens } from '../../dist/esm/lib/tokens/access-tokens.js'
import { createKeyRing } from '../../dist/esm/lib/tokens/key-ring.js'
import { RevocationList } from '../../dist/esm/lib/sessions/revocation-list.js'
import { fillList } from './mix.mjs'

const TOKENS = 1000
const SLICE_MS = 150

function ratePerSecond (fn, ms) {
  let calls = 0
  const start = performance.now()
  let now = start
  while (now < start + ms) {
    for (let i = 0; i < 50; i++) fn()
    calls += 50
    now = performance.now()
  }
  return calls / ((now - start) / 1000)
}

export async function run ({ sizes, rounds, cacheSize }) {
  const ring = createKeyRing([{ secret: randomBytes(32) }])
  const start = Math.floor(Date.now() / 1000)
  const contenders = sizes.map((n) => {
    const tokens = new AccessTokens({ ring, issuer: 'bench', audience: 'bench', ttlSeconds: 900, clockToleranceSeconds: 5, maxTokenLength: 4096, cacheSize, maxTtlSeconds: 86400, clock: systemClock })
    const list = fillList(new RevocationList(), n, start)
    process.stderr.write(`    list of ${n} built\n`)
    // What createRevocationCheck does, minus the freshness clock read (no sync here).
    tokens.useRevocationCheck((claims) => { if (list.isRevoked(claims)) throw new Error('revoked') })
    // Valid tokens: their jti and sub are looked up in the list's maps on every verification.
    const valid = Array.from({ length: TOKENS }, (_, i) => tokens.sign({ sub: `user-${i}` }).token)
    let next = 0
    return { n, list, verify: () => { tokens.verify(valid[next]); next = (next + 1) % TOKENS } }
  })
  for (const c of contenders) ratePerSecond(c.verify, 200)
  const samples = contenders.map(() => [])
  for (let round = 0; round < rounds; round++) {
    contenders.forEach((c, i) => { samples[i].push(ratePerSecond(c.verify, SLICE_MS)) })
  }
  return contenders.map((c, i) => ({ n: c.n, size: c.list.size, samples: samples[i] }))
}
