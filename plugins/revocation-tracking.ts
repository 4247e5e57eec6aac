import type { FastifyInstance } from 'fastify'
import { systemClock } from '../lib/clock.js'
import { Housekeeping } from '../lib/sessions/housekeeping.js'
import { createRevocationCheck } from '../lib/sessions/revocation-check.js'
import { RevocationList } from '../lib/sessions/revocation-list.js'
import { RevocationSync } from '../lib/sessions/revocation-sync.js'
import type { UserStore } from '../lib/stores/user-store.js'
import type { AccessTokens } from '../lib/tokens/access-tokens.js'
import type { AccessTokenClaims } from './claims-types.js'
import type { ResolvedTokenAuthOptions } from './token-auth-options.js'

// An id missing this long is a rolled-back insert, not a slow commit.
const REVOCATION_GAP_TIMEOUT_MS = 30_000

/**
 * Wires the store's revocations into verification: this instance's own revocations
 * apply at once (store listener), other instances' within maxStaleness (polling), and
 * verification fails closed while polling fails. Also starts the pruning timer.
 */
export async function trackRevocations (app: FastifyInstance, store: UserStore, tokens: AccessTokens<AccessTokenClaims>, options: ResolvedTokenAuthOptions['revocation']): Promise<void> {
  const list = new RevocationList()
  const sync = new RevocationSync({
    feed: { list: async (query) => await store.listRevocations(query) },
    clock: systemClock,
    list,
    intervalMs: options.syncIntervalMs,
    maxStalenessMs: options.maxStalenessMs,
    gapTimeoutMs: REVOCATION_GAP_TIMEOUT_MS,
    onStatusChange (healthy, error) {
      if (healthy) app.log.info('token revocations are in sync again')
      else app.log.error({ err: error }, 'cannot read token revocations; authenticated requests answer 503 until the store is back')
    }
  })
  const unsubscribe = store.onRevocation((revocation) => { list.add(revocation) })
  tokens.useRevocationCheck(createRevocationCheck(list, sync))
  const housekeeping = new Housekeeping({
    store,
    intervalMs: options.pruneIntervalMs,
    onPruned: (pruned) => { app.log.debug({ pruned }, 'pruned expired auth rows') },
    onError: (error) => { app.log.warn({ err: error }, 'pruning expired auth rows failed; will retry') }
  })
  app.addHook('onClose', async () => {
    unsubscribe()
    await Promise.all([sync.stop(), housekeeping.stop()])
  })
  await sync.start()
  housekeeping.start()
}
