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
if (config.reportsPort !== undefined) {
  // The second service verifies this app's tokens by its JWKS and revocation feed, over HTTP like any other service.
  reports = await buildReportsService({ authOrigin: url.origin, issuer: ISSUER, feedCredential, logger: loggerOptions(config) }).catch((error: Error) => {
    console.error(`Cannot start the reports service: ${error.message}`)
    process.exit(1)
  })
  const reportsUrl = new URL(await reports.listen({ host: config.host, port: config.reportsPort }))
  if (config.host === 'localhost') reportsUrl.hostname = 'localhost'
  reports.log.info(`reports service listening on ${reportsUrl.origin}`)
}
if (config.demoPassword !== undefined) {
  // A banner for the person who typed `npm start`, not a log record: passwords stay out of logs.
  const password = process.env.DEMO_PASSWORD === undefined ? config.demoPassword : 'the DEMO_PASSWORD you set'
  console.log(`\n  Open ${url.origin}/ and sign in as ${DEMO_USERS.map((user) => `"${user.username}" (${user.roles.length > 0 ? user.roles.join(', ') : 'no roles'})`).join(' or ')}\n  with the password: ${password}\n`)
}
