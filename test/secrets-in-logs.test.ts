import { Writable } from 'node:stream'
import t from 'tap'
import { redactPaths } from 'fastify-token-auth'
import { buildSessionApp, PASSWORD } from './helpers/app.js'
import { bearer } from './helpers/forge.js'
import { login } from './helpers/session.js'

// At trace level, with request headers logged, no password, token or hash may reach a log line.

function capture (): { lines: string[], stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  return { lines, stream }
}

t.test('a login, a failed login, a refresh, a bad token and a logout leave no secret in the logs', async (t) => {
  const { lines, stream } = capture()
  const { app, store } = await buildSessionApp(t, {
    fastify: {
      logger: {
        level: 'trace',
        stream,
        // Log every request header, as a debugging setup might; redactPaths must hide the credentials.
        serializers: { req: (request) => ({ method: request.method, url: request.url, headers: request.headers }) },
        redact: [...redactPaths]
      }
    }
  })
  const wrongPassword = 'not-the-password-but-secret-too'
  await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'alice', password: wrongPassword } })
  const session = await login(app)
  const body = await login(app, { include_refresh_token: true })
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: session.cookieHeader, 'x-csrf-token': session.csrfToken } })
  await app.inject({ url: '/me', headers: bearer(`${session.accessToken}x`) })
  await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: body.refreshToken.replace(/.$/, 'A') } })
  await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(body.accessToken), payload: { refresh_token: body.refreshToken } })
  await app.inject({ method: 'POST', url: '/auth/password', headers: bearer(session.accessToken), payload: { current_password: 'wrong-current-password', new_password: 'brand-new-secret-password' } })
  const hash = (await store.users.findByUsername('alice'))?.passwordHash as string
  const secrets = {
    password: PASSWORD,
    wrongPassword,
    newPassword: 'brand-new-secret-password',
    accessToken: session.accessToken,
    accessSignature: session.accessToken.split('.')[2],
    refreshToken: session.refreshToken,
    bodyRefreshToken: body.refreshToken,
    rotatedRefresh: refreshed.cookies.find((cookie) => cookie.name === '__Secure-refresh-token')?.value as string,
    csrfToken: session.csrfToken,
    hash,
    hashBody: hash.slice(7)
  }
  t.ok(lines.length >= 16, `${lines.length} log lines were written (two per request at least)`)
  t.ok(lines.some((line) => line.includes('[Redacted]')), 'credentials in headers were redacted')
  for (const [name, secret] of Object.entries(secrets)) {
    t.equal(lines.filter((line) => line.includes(secret)).length, 0, `no ${name} in the logs`)
  }
})
