// The performance targets, each a ratio against a peer measured in the same run.
import { median } from './measure.mjs'
import { ASYMMETRIC_ALGORITHMS } from './micro.mjs'

const ratio = (a, b) => a / b

/**
 * A ratio of HTTP variants taken round by round (the rounds interleave the variants, so
 * each round's figures were measured under the same conditions): the median over the
 * rounds as the value, and the smallest and largest round as its spread.
 */
function perRound (http, of) {
  const values = http[Object.keys(http)[0]].rounds.rps.map((_, round) => of(round))
  return { value: median(values), spread: { min: Math.min(...values), max: Math.max(...values) } }
}

function microTargets (micro) {
  const hs = micro.hs256
  return [
    { name: 'HS256 verify vs fast-jwt (no cache)', value: ratio(hs.verify.ours, hs.verify['fast-jwt']), min: 1.3 },
    { name: 'HS256 verify, cached, vs fast-jwt with its cache', value: ratio(hs.cached['ours (cache)'], hs.cached['fast-jwt (cache)']), min: 1.5 },
    { name: 'HS256 sign vs fast-jwt', value: ratio(hs.sign.ours, hs.sign['fast-jwt']), min: 1.3 },
    { name: 'HS256 verify vs bare node:crypto HMAC (within 2x)', value: ratio(hs.verify.ours, hs.verify['bare HMAC-SHA256']), min: 0.5 },
    ...ASYMMETRIC_ALGORITHMS.flatMap((alg) => {
      const group = micro[alg.toLowerCase()]
      return [
        { name: `${alg} signature vs bare node:crypto (within 10%)`, value: ratio(group.sign.ours, group.sign['bare node:crypto']), min: 0.9 },
        { name: `${alg} signature check vs bare node:crypto (within 10%)`, value: ratio(group.verify.ours, group.verify['bare node:crypto']), min: 0.9 }
      ]
    })
  ]
}

/** Every target whose measurements are in `results` (a run of some groups only has some). */
export function evaluate (results) {
  const { micro, http, keyRevocation, login, memory } = results
  const targets = micro === undefined ? [] : microTargets(micro)
  if (http?.hello !== undefined && http['jwt-header'] !== undefined) {
    const rps = (variant) => (round) => http[variant].rounds.rps[round]
    const rpsRatio = (a, b) => perRound(http, (round) => ratio(rps(a)(round), rps(b)(round)))
    const added = (variant, round) => http[variant].rounds.cpuMicrosPerRequest[round] - http.hello.rounds.cpuMicrosPerRequest[round]
    const addedRatio = (a, b) => perRound(http, (round) => ratio(added(a, round), added(b, round)))
    targets.push(
      { name: 'protected route req/s vs @fastify/jwt, Bearer header', ...rpsRatio('ours-header', 'jwt-header'), min: 1.4 },
      { name: 'server CPU added per request vs @fastify/jwt, header (at most 1/3)', ...addedRatio('ours-header', 'jwt-header'), max: 1 / 3 }
    )
    if (http['jwt-cookie'] !== undefined) {
      targets.push(
        { name: 'protected route req/s vs @fastify/jwt, cookie', ...rpsRatio('ours-cookie', 'jwt-cookie'), min: 1.4 },
        { name: 'server CPU added per request vs @fastify/jwt, cookie (at most 1/3)', ...addedRatio('ours-cookie', 'jwt-cookie'), max: 1 / 3 }
      )
    }
    if (http['ours-jwks'] !== undefined) {
      targets.push(
        { name: 'protected route req/s vs @fastify/jwt + get-jwks, JWKS RS256', ...rpsRatio('ours-jwks', 'jwt-jwks'), min: 1.4 },
        { name: 'server CPU added per request vs @fastify/jwt + get-jwks (at most 1/3)', ...addedRatio('ours-jwks', 'jwt-jwks'), max: 1 / 3 },
        { name: 'JWKS fetches by our resource server during the run (exactly 1: key known)', value: http['ours-jwks'].jwksFetches, min: 1, max: 1 }
      )
    }
  }
  if (http?.['keys-app-key'] !== undefined) {
    targets.push({ name: 'route req/s with an API key vs with an access token (same route and app, cached)', ...perRound(http, (round) => ratio(http['keys-app-key'].rounds.rps[round], http['keys-app-token'].rounds.rps[round])), min: 0.8 })
  }
  if (http !== undefined) {
    targets.push({ name: 'HTTP errors and non-2xx answers (must be 0)', value: Object.values(http).reduce((sum, v) => sum + v.errors + v.non2xx, 0), max: 0 })
  }
  if (keyRevocation !== undefined) {
    targets.push(
      { name: `API key revoked on A refused by B, ms, worst of ${keyRevocation.trials} (bound: revocation.maxStaleness)`, value: keyRevocation.maxMs, max: keyRevocation.boundMs },
      { name: 'API key revoked on A refused by A at once (share of trials)', value: keyRevocation.refusedAtOnceOnA / keyRevocation.trials, min: 1 }
    )
  }
  if (login !== undefined) {
    targets.push(
      { name: `logins/s vs bare bcrypt verifies/s (cost ${login.cost}, median of per-round ratios)`, value: login.ratio, min: 0.9 },
      { name: 'event-loop delay p99 during the login burst, ms', value: login.eventLoopP99Ms, max: 20 },
      { name: 'other routes answered during the burst (share of probes)', value: login.probesOk / login.probesSent, min: 1 },
      { name: 'failed logins during the burst (must be 0)', value: login.failedLogins, max: 0 }
    )
  }
  if (memory !== undefined) {
    targets.push(
      { name: `heap growth after the cache filled, MB (${memory.tokens.toLocaleString('en')} distinct tokens)`, value: memory.growthMb, max: 8 },
      { name: 'distinct tokens verified (at least 1,000,000 in a full run)', value: memory.tokens, min: memory.requiredTokens }
    )
  }
  return targets.map((target) => ({ ...target, pass: (target.min === undefined || target.value >= target.min) && (target.max === undefined || target.value <= target.max) }))
}
