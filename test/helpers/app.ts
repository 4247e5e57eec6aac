import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import tokenAuth, { createMemoryUserStore, loginRoutes, type LoginRoutesOptions, type TokenAuthOptions, type UserStore } from 'fastify-token-auth'

/** A test secret: 48 random-looking bytes, the same for every test so tokens can be forged with it. */
export const SECRET = 'nO7hX2qL9vR4tW8yB3mK6pD1sF5gJ0cZ-aE_uI4oP8lQ2wY'
export const PASSWORD = 'correct horse battery staple'

export interface TestAppOptions {
  auth?: Partial<TokenAuthOptions>
  /** Register loginRoutes under /auth with these options; false for none. */
  routes?: LoginRoutesOptions | false
  fastify?: FastifyServerOptions
  /** Adds routes or hooks before the app is ready. */
  setup?: (app: FastifyInstance) => void
}

/**
 * A fresh app per test, closed in teardown: tokenAuth with the test secret plus routes
 * to exercise it (/me by authenticate, /admin by role, /scoped by scope, /peek by verifyToken).
 */
export async function buildApp (t: Test, options: TestAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options.fastify ?? { logger: false })
  t.teardown(async () => { await app.close() })
  const key = options.auth?.keys === undefined ? { secret: SECRET } : {}
  await app.register(tokenAuth, { ...key, ...options.auth } as TokenAuthOptions)
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
export async function storeWithAlice (overrides: Parameters<typeof createMemoryUserStore>[0] = {}): Promise<UserStore> {
  const store = createMemoryUserStore({ bcryptCost: 10, ...overrides })
  await store.createUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com', roles: ['admin'] })
  return store
}

/** An app with a store holding alice and the login routes under /auth. */
export async function buildSessionApp (t: Test, options: TestAppOptions & { store?: UserStore } = {}): Promise<{ app: FastifyInstance, store: UserStore }> {
  const store = options.store ?? await storeWithAlice()
  const app = await buildApp(t, { ...options, auth: { userStore: store, ...options.auth }, routes: options.routes ?? {} })
  return { app, store }
}
