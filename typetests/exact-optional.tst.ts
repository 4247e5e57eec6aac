import Fastify from 'fastify'
import knex from 'knex'
import { expect, test } from 'tstyche'
import tokenAuth, { createMemoryStore, loginRoutes } from 'fastify-token-auth'
import { createKnexStore } from 'fastify-token-auth/knex'

// Under exactOptionalPropertyTypes an optional option must still take a value that may be
// undefined, as configuration read from the environment is.
declare const fromEnvironment: string | undefined
declare const maybeNumber: number | undefined

test('options read from the environment compile under exactOptionalPropertyTypes', () => {
  expect(Fastify().register).type.toBeCallableWith(tokenAuth, {
    secret: fromEnvironment,
    issuer: fromEnvironment,
    audience: fromEnvironment,
    realm: fromEnvironment,
    passwords: { bcryptCost: maybeNumber },
    cookie: { secure: undefined, csrfName: fromEnvironment },
    csrf: { secret: fromEnvironment },
    store: createMemoryStore({ profileFields: undefined })
  })
  expect(Fastify().register).type.toBeCallableWith(loginRoutes, { prefix: '/auth', publicUser: undefined, onLoginSuccess: undefined })
  expect(createKnexStore).type.toBeCallableWith({ knex: knex({ client: 'sqlite3' }), tablePrefix: fromEnvironment, readTimeout: undefined, notify: undefined })
})

test('an unknown option is still a type error', () => {
  expect(Fastify().register).type.not.toBeCallableWith(tokenAuth, { secret: 'x', audiance: 'x' })
})
