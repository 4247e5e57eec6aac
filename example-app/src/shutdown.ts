import type { FastifyInstance } from 'fastify'

/**
 * Closes the app gracefully: no new connections, in-flight requests finish, then the
 * onClose hooks (the database pool) run. Resolves with the process exit code: 0, or 1
 * when closing failed or took longer than `timeoutMs` (a stuck request cannot hold the
 * process forever).
 */
export async function closeGracefully (app: FastifyInstance, timeoutMs: number): Promise<number> {
  // close() ends idle keep-alive connections once; a connection busy at that moment
  // turns idle when its response is sent, and would otherwise hold the close open.
  const idleSweeper = setInterval(() => { app.server.closeIdleConnections() }, 100)
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      app.log.error(`shutdown took longer than ${timeoutMs} ms; exiting anyway`)
      resolve(1)
    }, timeoutMs)
  })
  const closed = app.close().then(() => 0, (error: Error) => {
    app.log.error({ err: error }, 'error while shutting down')
    return 1
  })
  try {
    return await Promise.race([closed, timedOut])
  } finally {
    clearInterval(idleSweeper)
    clearTimeout(timer)
  }
}
