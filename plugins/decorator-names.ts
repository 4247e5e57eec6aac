import type { FastifyInstance } from 'fastify'
import { InvalidOptionError } from '../lib/errors.js'
import { shownValue } from '../lib/shown-value.js'

/**
 * The decorator names an application renamed, merged by the application so that the types
 * follow its `decorators` option:
 *
 *     declare module 'fastify-token-auth' {
 *       interface TokenAuthDecoratorNames { user: 'principal' }
 *     }
 *
 * Every name left out keeps its default (DefaultDecoratorNames).
 */
export interface TokenAuthDecoratorNames {}

/** What tokenAuth decorates with when nothing is renamed. */
const DEFAULT_NAMES = Object.freeze({
  user: 'user',
  verifyToken: 'verifyToken',
  authenticate: 'authenticate',
  requireRole: 'requireRole',
  requireScope: 'requireScope',
  requireMfa: 'requireMfa',
  tokenAuth: 'tokenAuth'
} as const)

export type DefaultDecoratorNames = typeof DEFAULT_NAMES

/** What each decorator is for: the keys of the `decorators` option. */
export type DecoratorRole = keyof DefaultDecoratorNames

/** The names in effect for the type checker: the application's where it merged one, else the default. */
export type DecoratorNames = {
  [Role in DecoratorRole]: Role extends keyof TokenAuthDecoratorNames ? TokenAuthDecoratorNames[Role] & string : DefaultDecoratorNames[Role]
}

type DecoratorsOption = { [Role in DecoratorRole]?: DecoratorNames[Role] | undefined }
type RenamedRoles = keyof TokenAuthDecoratorNames & DecoratorRole

/**
 * The `decorators` option, typed by TokenAuthDecoratorNames: optional while nothing is
 * renamed; once the application merged names, required with those names, so that the
 * types and the names decorated at run time cannot differ.
 */
export type TokenAuthDecoratorsOption = [RenamedRoles] extends [never]
  ? {
      /** Other names for the decorators, when another plugin already uses one (`user` by @fastify/jwt). */
      decorators?: DecoratorsOption | undefined
    }
  : {
      /** Other names for the decorators: the ones merged into TokenAuthDecoratorNames. */
      decorators: DecoratorsOption & { [Role in RenamedRoles]: DecoratorNames[Role] }
    }

export type ResolvedDecoratorNames = Readonly<Record<DecoratorRole, string>>

const ROLES = Object.keys(DEFAULT_NAMES) as DecoratorRole[]
const REQUEST_ROLES: ReadonlySet<DecoratorRole> = new Set(['user', 'verifyToken'])
// A name that `request.name` / `app.name` can spell: what TypeScript users will write.
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** Validates the `decorators` option at registration: known roles, identifiers, no name twice. */
export function resolveDecoratorNames (option: unknown): ResolvedDecoratorNames {
  if (option === undefined) return DEFAULT_NAMES
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidOptionError(`decorators must be an object such as { user: 'principal' }; got ${shownValue(option)}`)
  }
  const names: Record<string, string> = { ...DEFAULT_NAMES }
  for (const [role, name] of Object.entries(option)) {
    if (!ROLES.includes(role as DecoratorRole)) throw new InvalidOptionError(`decorators.${role} is not one of ${ROLES.join(', ')}`)
    if (name === undefined) continue
    if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
      throw new InvalidOptionError(`decorators.${role} must be a JavaScript identifier such as 'principal'; got ${shownValue(name)}`)
    }
    // A request or app with a `then` is a thenable: `await request` would call it.
    if (name === 'then') throw new InvalidOptionError(`decorators.${role} cannot be 'then': it would make ${REQUEST_ROLES.has(role as DecoratorRole) ? 'every request' : 'the app'} a thenable`)
    names[role] = name
  }
  const owners = new Map<string, string>()
  for (const role of ROLES) {
    const other = owners.get(names[role])
    if (other !== undefined) throw new InvalidOptionError(`decorators.${other} and decorators.${role} are both '${names[role]}': each decorator needs its own name`)
    owners.set(names[role], role)
  }
  return Object.freeze(names as Record<DecoratorRole, string>)
}

/**
 * Fails registration with a clear message, rather than Fastify's FST_ERR_DEC_ALREADY_PRESENT,
 * when a name is already taken (by a plugin registered earlier, or by Fastify itself).
 */
export function refuseTakenNames (app: FastifyInstance, names: ResolvedDecoratorNames): void {
  for (const role of ROLES) {
    const name = names[role]
    const onRequest = REQUEST_ROLES.has(role)
    if (onRequest ? app.hasRequestDecorator(name) : app.hasDecorator(name)) {
      const culprit = role === 'user' ? 'another plugin such as @fastify/jwt' : 'another plugin or the application'
      throw new InvalidOptionError(`${onRequest ? 'request' : 'instance'} decorator '${name}' already exists (${culprit} added it): set decorators.${role} to another name`)
    }
  }
}
