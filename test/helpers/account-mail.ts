import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { AuthEvent, AuthStore, LoginRoutesOptions, TokenAuthOptions, UserRecord } from 'fastify-token-auth'
import { buildApp, PASSWORD } from './app.js'
import { MailOutbox } from './mail-outbox.js'
import { createUser, memoryStoreTarget, type StoreTarget } from './stores.js'

export const MAIL_LINKS = Object.freeze({ passwordReset: 'https://app.example/reset-password', emailVerification: 'https://app.example/verify-email' })
export const ALICE_EMAIL = 'alice@example.com'
export const NEW_PASSWORD = 'a brand new passphrase'

export interface MailApp {
  app: FastifyInstance
  store: AuthStore
  outbox: MailOutbox
  alice: UserRecord
  events: AuthEvent[]
  post: (url: string, payload: unknown, headers?: Record<string, string>, remoteAddress?: string) => Promise<LightMyRequestResponse>
}

export interface MailAppOptions {
  target?: StoreTarget | undefined
  auth?: Partial<TokenAuthOptions> | undefined
  routes?: LoginRoutesOptions | undefined
  fastify?: FastifyServerOptions | undefined
}

/** An app with account mail on (sent to an in-memory outbox), the login routes under /auth and alice (email unverified). */
export async function buildMailApp (t: Test, options: MailAppOptions = {}): Promise<MailApp> {
  const store = await (options.target ?? memoryStoreTarget()).create(t)
  // A second app on one store (another instance) finds alice there.
  const alice = await store.users.findByUsername('alice') ?? await createUser(store, { username: 'alice', password: PASSWORD, email: ALICE_EMAIL })
  const outbox = new MailOutbox()
  const events: AuthEvent[] = []
  const app = await buildApp(t, {
    auth: {
      store,
      mail: { transport: outbox, from: 'Example <no-reply@example.com>', links: MAIL_LINKS },
      onAuthEvent: (event) => { events.push(event) },
      ...options.auth
    },
    routes: options.routes ?? {},
    fastify: options.fastify
  })
  const post = async (url: string, payload: unknown, headers: Record<string, string> = {}, remoteAddress = '192.0.2.10'): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'POST', url, payload: payload as string, headers, remoteAddress })
  return { app, store, outbox, alice, events, post }
}

/** The headers of a response but its date: what must be equal between two answers that must not differ. */
export function headersButDate (response: LightMyRequestResponse): Record<string, unknown> {
  const { date: _date, ...rest } = response.headers
  return rest
}
