import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import tokenAuth, { createMemoryStore, loginRoutes, type AuthStore, type LoginRoutesOptions, type TokenAuthOptions } from 'fastify-token-auth'
import { createUser, TEST_SECRET } from './stores.js'

/** A test secret: 48 random-looking bytes, the same for every test so tokens can be forged with it. */
export const SECRET = TEST_SECRET
export const PASSWORD = 'correct horse battery staple'

export interface TestAppOptions {
  auth?: Partial<TokenAuthOptions> | undefined
  /** Register loginRoutes under /auth with these options; false for none. */
  routes?: LoginRoutesOptions | false | undefined
  fastify?: FastifyServerOptions | undefined
  /** Adds routes or hooks before the app is ready. */
  setup?: ((app: FastifyInstance) => void) | undefined
}

/**
 * A fresh app per test, closed in teardown: tokenAuth with the test secret plus routes
 * to exercise it (/me by authenticate, /admin by role, /scoped by scope, /peek by verifyToken).
 */
export async function buildApp (t: Test, options: TestAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options.fastify ?? { logger: false })
  t.teardown(async () => { await app.close() })
  const key = options.auth?.keys === undefined ? { secret: SECRET } : {}
  // bcrypt cost 10, the lowest allowed outside NODE_ENV=test: the tests create users at that cost too.
  await app.register(tokenAuth, { ...key, passwords: { bcryptCost: 10 }, ...options.auth } as TokenAuthOptions)
  if (options.routes !== undefined && options.routes !== false) await app.register(loginRoutes, { prefix: '/auth', ...options.routes })
  app.get('/me', { onRequest: app.authenticate }, async (request) => request.user)
  app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: '/me', onRequest: app.authenticate, handler: async (request) => request.user })
  app.get('/admin', { onRequest: app.requireRole('admin') }, async () => ({ admin: true }))
  app.get('/scoped', { onRequest: app.requireScope('read:reports', 'write:reports') }, async () => ({ scoped: true }))
  app.get('/peek', async (request) => ({ sub: (await request.verifyToken()).sub }))
  options.setup?.(app)
  await app.ready()
  return app
}

/** A memory store with cheap bcrypt and one user, alice (password PASSWORD, role admin). */
export async function storeWithAlice (store: AuthStore = createMemoryStore()): Promise<AuthStore> {
  await createUser(store, { username: 'alice', password: PASSWORD, email: 'alice@example.com', roles: ['admin'] })
  return store
}

/** An app with a store holding alice and the login routes under /auth. */
export async function buildSessionApp (t: Test, options: TestAppOptions & { store?: AuthStore | undefined } = {}): Promise<{ app: FastifyInstance, store: AuthStore }> {
  const store = options.store ?? await storeWithAlice()
  const app = await buildApp(t, { ...options, auth: { store, ...options.auth }, routes: options.routes ?? {} })
  return { app, store }
}
