import type { AuthEvent } from 'fastify-token-auth'

/**
 * The latest auth events of this instance, newest first, for the admins' audit view. In
 * memory, so a restart forgets them: the log lines (logAuthEvent) are the lasting record.
 */
export class AuditTrail {
  readonly #limit: number
  #events: AuthEvent[] = []

  constructor (limit: number) {
    this.#limit = limit
  }

  add (event: AuthEvent): void {
    this.#events = [event, ...this.#events.slice(0, this.#limit - 1)]
  }

  latest (): readonly AuthEvent[] {
    return this.#events
  }
}
