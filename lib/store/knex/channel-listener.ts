import type { RevocationWatch, RevocationWatcher } from '../ports.js'

/** The few methods of a pg Client a listener uses (tests pass a fake). */
export interface ListenConnection {
  connect: () => Promise<unknown>
  query: (sql: string) => Promise<unknown>
  end: () => Promise<unknown>
  on: ((event: 'notification', listener: (message: { channel: string }) => void) => unknown) &
    ((event: 'error' | 'end', listener: (error?: unknown) => void) => unknown)
}

export interface ChannelListenerOptions {
  /** A new, unconnected connection of its own (never one of the pool's: LISTEN holds it). */
  open: () => ListenConnection
  /** Already a safe identifier: it is quoted, not escaped. */
  channel: string
  watcher: RevocationWatcher
  /** A connect (or LISTEN) not done by then counts as a failure. Default 10 s. */
  connectTimeoutMs?: number | undefined
  /** The first retry delay, doubled per failure up to maxRetryMs. Defaults 100 ms and 10 s. */
  firstRetryMs?: number | undefined
  maxRetryMs?: number | undefined
  /** close() resolves by then even if the server never acknowledges the end. Default 2 s. */
  closeTimeoutMs?: number | undefined
  /** For the retry jitter; tests pin it. */
  random?: (() => number) | undefined
}

/** Settles with `promise`, or rejects after `ms` (a bounded timer, cleared as soon as the promise settles). */
async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} did not finish within ${ms} ms`)) }, ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The wait before retry number `failures` (0 first): doubling from firstMs up to maxMs, then a random half to all of it. */
export function retryDelay (failures: number, firstMs: number, maxMs: number, random: () => number): number {
  const delay = Math.min(maxMs, firstMs * 2 ** Math.min(failures, 30))
  return delay / 2 + random() * delay / 2
}

/**
 * Keeps one connection LISTENing on `channel` and tells the watcher about announcements
 * and about the connection coming and going. A lost connection (error, end, a connect or
 * LISTEN that fails or hangs) is reopened after a backoff: doubling, capped, with jitter
 * so that many instances cut off at once do not reconnect in step.
 */
export function listenOnChannel (options: ChannelListenerOptions): RevocationWatch {
  const { open, channel, watcher, random = Math.random } = options
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
  const firstRetryMs = options.firstRetryMs ?? 100
  const maxRetryMs = options.maxRetryMs ?? 10_000
  const closeTimeoutMs = options.closeTimeoutMs ?? 2000
  let current: ListenConnection | undefined
  /** The status last told to the watcher; undefined before the first attempt settled. */
  let told: boolean | undefined
  let failures = 0
  let retry: NodeJS.Timeout | undefined
  let closing: Promise<void> | undefined

  const tell = (live: boolean, error?: unknown): void => {
    if (told === live) return
    told = live
    watcher.statusChanged(live, error)
  }

  const end = async (connection: ListenConnection): Promise<void> => {
    await within(connection.end(), closeTimeoutMs, 'closing the listening connection').catch(() => {})
  }

  const retryLater = (error: unknown): void => {
    tell(false, error)
    retry = setTimeout(() => { attempt() }, retryDelay(failures++, firstRetryMs, maxRetryMs, random))
    retry.unref()
  }

  const attempt = async (): Promise<void> => {
    let connection: ListenConnection
    try {
      connection = open()
    } catch (error) {
      retryLater(error)
      return
    }
    current = connection
    const lost = (error: unknown): void => {
      if (current !== connection) return
      current = undefined
      end(connection)
      retryLater(error)
    }
    connection.on('error', lost)
    connection.on('end', () => { lost(new Error('the listening connection ended')) })
    connection.on('notification', (message) => {
      if (current === connection && message.channel === channel) watcher.appended()
    })
    try {
      await within(connection.connect(), connectTimeoutMs, 'connecting to listen')
      // Closed (or given up) meanwhile: close() ends this connection, it must not LISTEN.
      if (current !== connection) return
      await within(connection.query(`LISTEN "${channel}"`), connectTimeoutMs, 'LISTEN')
    } catch (error) {
      lost(error)
      return
    }
    if (current !== connection) return
    failures = 0
    tell(true)
  }

  attempt()
  return {
    close: async () => {
      closing ??= (async () => {
        clearTimeout(retry)
        const connection = current
        current = undefined
        if (connection !== undefined) await end(connection)
      })()
      await closing
    }
  }
}
