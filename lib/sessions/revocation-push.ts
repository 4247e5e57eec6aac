import type { RevocationPort, RevocationWatch } from '../store/ports.js'

/** The part of RevocationSync a push drives. */
export interface Wakeable {
  wake: () => void
}

export interface RevocationPushLog {
  info: (message: string) => void
  warn: (details: object, message: string) => void
}

/**
 * Watches the store's revocations and wakes the sync on each announcement, and on each
 * (re)connect, since announcements sent while away are lost. A push only hurries the
 * sync: freshness still comes from its polls, which go on at `intervalMs` regardless.
 */
export function startRevocationPush (watch: NonNullable<RevocationPort['watch']>, sync: Wakeable, log: RevocationPushLog, intervalMs: number): RevocationWatch {
  return watch({
    appended: () => { sync.wake() },
    statusChanged: (live, error) => {
      if (live) {
        log.info('revocation push is live')
        sync.wake()
      } else {
        log.warn({ err: error }, `revocation push lost; polling every ${intervalMs / 1000} s until it is back`)
      }
    }
  })
}
