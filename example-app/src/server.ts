// The start script: configuration from the environment, build, listen, and a graceful
// shutdown on SIGINT/SIGTERM (in-flight requests finish, then the database pool closes).
import { fileURLToPath } from 'node:url'
import { build, DEMO_USERS } from './app.js'
import { ConfigError, loadConfig, type AppConfig } from './config.js'
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
const app = await build(config).catch((error: Error) => {
  console.error(`Cannot start: ${error.message}`)
  process.exit(1)
})

let closing = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal while closing changes nothing: the shutdown has its own time limit.
    if (closing) return
    closing = true
    app.log.info(`${signal} received: finishing in-flight requests, then closing the database`)
    closeGracefully(app, config.shutdownTimeoutMs).then((code) => process.exit(code))
  })
}

const address = await app.listen({ host: config.host, port: config.port })
const url = new URL(address)
if (config.host === 'localhost') url.hostname = 'localhost'
app.log.info(`example app listening on ${url.origin}`)
if (config.demoPassword !== undefined) {
  // A banner for the person who typed `npm start`, not a log record: passwords stay out of logs.
  const password = process.env.DEMO_PASSWORD === undefined ? config.demoPassword : 'the DEMO_PASSWORD you set'
  console.log(`\n  Open ${url.origin}/ and sign in as ${DEMO_USERS.map((user) => `"${user.username}" (${user.roles.length > 0 ? user.roles.join(', ') : 'no roles'})`).join(' or ')}\n  with the password: ${password}\n`)
}
