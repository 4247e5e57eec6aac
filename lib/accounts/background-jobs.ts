// Anything shaped like an account token (43 base64url characters) is cut from what is logged:
// a mail transport's error may quote the message it failed to send.
const TOKEN_LIKE = /[A-Za-z0-9_-]{43,}/g

function loggableError (error: unknown): { name: string, code?: string | undefined, message: string } {
  const { name, code, message } = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as { name?: unknown, code?: unknown, message?: unknown }
  return {
    name: typeof name === 'string' ? name : 'Error',
    code: typeof code === 'string' ? code : undefined,
    message: String(message).replace(TOKEN_LIKE, '[redacted]')
  }
}

/**
 * Work a request starts and does not wait for: looking an address up and mailing it, so
 * that the answer (and its timing) is the same whether the address belongs to anyone.
 * A failure is logged (never with a token) and never reaches the client; `drain` lets the
 * app's close wait for the jobs in flight, for a bounded time.
 */
export class BackgroundJobs {
  readonly #running = new Set<Promise<void>>()
  readonly #log: { error: (details: object, message: string) => void }

  constructor (log: { error: (details: object, message: string) => void }) {
    this.#log = log
  }

  /** Starts `job` now; `name` says in the log what failed. */
  run (name: string, job: () => Promise<void>): void {
    const running: Promise<void> = job()
      .catch((error: unknown) => { this.#log.error({ job: name, err: loggableError(error) }, `${name} failed`) })
      .finally(() => { this.#running.delete(running) })
    this.#running.add(running)
  }

  /** Resolves once every job started so far has ended, or after `timeoutMs`, whichever comes first. */
  async drain (timeoutMs: number): Promise<void> {
    if (this.#running.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
    await Promise.race([Promise.allSettled([...this.#running]), timeout])
    clearTimeout(timer)
  }
}
