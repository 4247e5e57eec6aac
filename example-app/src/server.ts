// The start script: configuration from the environment, build, listen, and a graceful
// shutdown on SIGINT/SIGTERM (in-flight requests finish, then the database pool closes).
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { build, DEMO_USERS, ISSUER, loggerOptions } from './app.js'
import { ConfigError, loadConfig, type AppConfig } from './config.js'
import { buildReportsService } from './reports-service.js'
import { closeGracefully } from './shutdown.js'

function configOrExit (): AppConfig {
  try {
    return loadConfig(process.env, fileURLToPath(new URL('..', import.meta.url)))
  } catch (error) {
    // loadConfig throws only ConfigError: one line naming the variable.
    console.error(`Configuration error: ${(error as ConfigError).message}`)
    process.exit(1)
  }
}

const config = configOrExit()
// Shared in this process with the reports service; set REVOCATION_FEED_CREDENTIAL to run it elsewhere.
const feedCredential = config.revocationFeedCredential ?? randomBytes(32).toString('base64url')
const app = await build(config, { feedCredential }).catch((error: Error) => {
  console.error(`Cannot start: ${error.message}`)
  process.exit(1)
})
let reports: FastifyInstance | undefined

/**
 * The second service, which verifies this app's tokens by its JWKS and revocation feed over
 * HTTP like any other service. If it cannot start (its port taken, or the app on an address
 * it may not fetch keys from over plain http), the app runs on without it.
 */
async function startReportsService (port: number, appAddress: string): Promise<FastifyInstance | undefined> {
  // A wildcard or `localhost` listener answers on 127.0.0.1; any other address is used as it is.
  const wildcard = ['0.0.0.0', '::', 'localhost'].includes(config.host)
  const authOrigin = wildcard ? `http://127.0.0.1:${new URL(appAddress).port}` : new URL(appAddress).origin
  let service: FastifyInstance | undefined
  try {
    service = await buildReportsService({ authOrigin, issuer: ISSUER, feedCredential, logger: loggerOptions(config) })
    const reportsUrl = new URL(await service.listen({ host: config.host, port }))
    if (config.host === 'localhost') reportsUrl.hostname = 'localhost'
    service.log.info(`reports service listening on ${reportsUrl.origin}`)
    return service
  } catch (error) {
    app.log.error(`the reports service did not start: ${(error as Error).message}; the app runs without it`)
    await service?.close()
    return undefined
  }
}

let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal while closing changes nothing: the shutdown has its own time limit.
    if (closing) return
    closing = true
    app.log.info(`${signal} received: finishing in-flight requests, then closing the database`)
    const closed = [closeGracefully(app, config.shutdownTimeoutMs)]
    if (reports !== undefined) closed.push(closeGracefully(reports, config.shutdownTimeoutMs))
    Promise.all(closed).then((codes) => process.exit(Math.max(...codes)))
  })
}

const address = await app.listen({ host: config.host, port: config.port })
const url = new URL(address)
if (config.host === 'localhost') url.hostname = 'localhost'
app.log.info(`example app listening on ${url.origin}`)
if (config.reportsPort !== undefined) reports = await startReportsService(config.reportsPort, address)
if (config.demoPassword !== undefined) {
  // A banner for the person who typed `npm start`, not a log record: passwords stay out of logs.
  const password = process.env.DEMO_PASSWORD === undefined ? config.demoPassword : 'the DEMO_PASSWORD you set'
  console.log(`\n  Open ${url.origin}/ and sign in as ${DEMO_USERS.map((user) => `"${user.username}" (${user.roles.length > 0 ? user.roles.join(', ') : 'no roles'})`).join(' or ')}\n  with the password: ${password}\n`)
}
