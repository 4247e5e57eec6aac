import type { FastifyRequest, RouteOptions } from 'fastify'
import type { ApiKeyIdentity } from '../lib/api-keys/api-key-identity.js'
import type { ResolvedApiKeyOptions } from '../lib/api-keys/api-key-options.js'
import type { ApiKeys } from '../lib/api-keys/api-keys.js'
import { ApiKeyNotAllowedError, InvalidApiKeyError, InvalidOptionError } from '../lib/errors.js'
import type { ClientAddressOf } from './client-address.js'
import type { PresentedToken } from './request-credentials.js'

export interface ApiKeyTransportParts {
  /** The core's API keys; undefined when the `apiKeys` option is off. */
  apiKeys: ApiKeys | undefined
  /** The resolved `apiKeys` option (its allowByDefault). */
  options: ResolvedApiKeyOptions | undefined
  clientAddress: ClientAddressOf
}

export interface ApiKeyTransport {
  /** Whether a presented credential is meant as an API key (it has the prefix): it is then never parsed as a JWT. */
  isApiKey: (token: string) => boolean
  /**
   * The identity of the key a request presents: at once when the key is cached, a Promise
   * when it is looked up. A key in a cookie, or on a route that does not accept keys, is
   * refused first, with no lookup and nothing counted against the client.
   */
  authenticate: (request: FastifyRequest, presented: PresentedToken) => ApiKeyIdentity | Promise<ApiKeyIdentity>
}

/**
 * Whether a route accepts API keys: its `config.allowApiKeys` when true or false, the
 * default otherwise. Read only for requests that bring a key (`routeOptions` is built per read).
 */
function routeAllowsApiKeys (request: FastifyRequest, byDefault: boolean): boolean {
  const allow = request.routeOptions.config.allowApiKeys
  return allow === undefined ? byDefault : allow === true
}

/** The request side of API keys, or undefined when they are off (then no Bearer value is a key). */
export function createApiKeyTransport ({ apiKeys, options, clientAddress }: ApiKeyTransportParts): ApiKeyTransport | undefined {
  if (apiKeys === undefined || options === undefined) return undefined
  const allowByDefault = options.allowByDefault
  return {
    isApiKey: (token) => apiKeys.isApiKey(token),
    authenticate (request, presented) {
      // Scripts send keys in the Authorization header; a key in a cookie was put there by mistake, or by someone else.
      if (presented.source === 'cookie') throw new InvalidApiKeyError()
      if (!routeAllowsApiKeys(request, allowByDefault)) throw new ApiKeyNotAllowedError()
      return apiKeys.authenticate(presented.token, clientAddress(request))
    }
  }
}

/**
 * An onRoute hook: a route's `config.allowApiKeys` must be true, false or absent, so that a
 * typo such as 'false' fails at registration rather than letting keys in.
 */
export function checkApiKeyRouteConfig (route: RouteOptions): void {
  const allow = (route.config as { allowApiKeys?: unknown } | undefined)?.allowApiKeys
  if (allow !== undefined && typeof allow !== 'boolean') {
    throw new InvalidOptionError(`route ${String(route.method)} ${route.url}: config.allowApiKeys must be true or false`)
  }
}

/**
 * An onRoute hook for the plugin's own account routes: they refuse API keys whatever
 * `apiKeys.allowByDefault` says. A key is for the scopes it holds; it must not mint keys,
 * change the password, end sessions or administer users.
 */
export function refuseApiKeysOnRoute (route: RouteOptions): void {
  route.config = { ...route.config, allowApiKeys: false }
}
