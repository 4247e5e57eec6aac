import t from 'tap'
import { createAuthCore, createMemoryStore } from 'fastify-token-auth'
import { FakeClock } from './helpers/fake-clock.js'
import { FastTestHasher } from './helpers/fast-test-hasher.js'
import { TEST_SECRET } from './helpers/stores.js'

// An IPv6 client holds its whole /64: the per-address limit of refreshes and logouts counts
// it as one address, as the login throttle does, or rotating through the /64 would make it
// unlimited (each unknown refresh token still costs a store read).

t.test('refreshes from one IPv6 /64 share one per-address limit', async (t) => {
  const clock = new FakeClock()
  const core = createAuthCore({ secret: TEST_SECRET, store: createMemoryStore(), passwords: { hasher: new FastTestHasher() }, session: { perAddressPerMinute: 5 } }, { clock })
  const codes = new Set<string>()
  for (let i = 1; i <= 20; i++) {
    const error = await core.stateful!.sessions.refresh('A'.repeat(43), { clientAddress: `2001:db8:1:2::${i.toString(16)}` }).catch((error: { code: string }) => error)
    codes.add((error as { code: string }).code)
  }
  t.ok(codes.has('FST_TOKEN_AUTH_RATE_LIMITED'), `20 refreshes from one /64 within a minute are rate limited (got ${[...codes].join(', ')})`)
})
