import { Writable } from 'node:stream'
import t from 'tap'
import { redactPaths } from 'fastify-token-auth'
import { PASSWORD } from './helpers/app.js'
import { ADDRESS, addPasskey, mfaApp, mfaRequest, mfaSession, passwordLogin, passwordSession, totpNow } from './helpers/mfa-app.js'

// At trace level, with request headers logged, no TOTP secret or code, recovery code, login
// challenge, WebAuthn challenge or password may reach a log line, nor an audit event.

function capture (): { lines: string[], stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  return { lines, stream }
}

t.test('enrolling TOTP and a passkey, both steps of logins, refusals and passkey sign-ins leave no secret, code or challenge in the logs or events', async (t) => {
  const { lines, stream } = capture()
  const { app, clock, events } = await mfaApp(t, {
    fastify: {
      logger: {
        level: 'trace',
        stream,
        serializers: { req: (request) => ({ method: request.method, url: request.url, headers: request.headers }) },
        redact: [...redactPaths]
      }
    }
  })
  const first = await passwordSession(app)
  const begun = (await mfaRequest(app, first, 'POST', '/totp', { current_password: PASSWORD })).json()
  await mfaRequest(app, first, 'POST', '/totp/confirm', { code: '000000' })
  const confirmCode = totpNow(begun.secret, clock)
  const confirmed = (await mfaRequest(app, first, 'POST', '/totp/confirm', { code: confirmCode })).json()
  clock.advance(30_000)
  const login = (await passwordLogin(app)).json()
  const wrong = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: login.mfa_token, recovery_code: 'wrong-recovery-code' }, remoteAddress: ADDRESS })
  const loginCode = totpNow(begun.secret, clock)
  await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: login.mfa_token, code: loginCode }, remoteAddress: ADDRESS })
  clock.advance(30_000)
  const second = (await passwordLogin(app)).json()
  await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: second.mfa_token, recovery_code: confirmed.recovery_codes[0] }, remoteAddress: ADDRESS })
  const strong = await mfaSession(app, clock, begun.secret)
  const regenerated = (await mfaRequest(app, strong, 'POST', '/recovery-codes', { current_password: PASSWORD })).json()
  const registration = (await mfaRequest(app, strong, 'POST', '/passkeys/options', { current_password: PASSWORD })).json()
  const { authenticator } = await addPasskey(app, strong)
  const signIn = (await app.inject({ method: 'POST', url: '/auth/login/passkey/options', remoteAddress: ADDRESS })).json()
  await app.inject({ method: 'POST', url: '/auth/login/passkey', payload: { response: authenticator.assert(signIn, { badSignature: true }) }, remoteAddress: ADDRESS })
  const third = (await passwordLogin(app)).json()
  const stepOptions = (await app.inject({ method: 'POST', url: '/auth/login/mfa/passkey-options', payload: { mfa_token: third.mfa_token }, remoteAddress: ADDRESS })).json()
  const last = await app.inject({ method: 'POST', url: '/auth/login/mfa', payload: { mfa_token: third.mfa_token, passkey: authenticator.assert(stepOptions) }, remoteAddress: ADDRESS })
  t.equal(wrong.statusCode, 401)
  t.equal(last.statusCode, 200, 'every flow ran to its end')

  const secrets: Record<string, string> = {
    password: PASSWORD,
    totpSecret: begun.secret,
    otpauthUri: begun.uri,
    confirmCode,
    loginCode,
    wrongRecoveryCode: 'wrong-recovery-code',
    mfaToken: login.mfa_token,
    secondMfaToken: second.mfa_token,
    thirdMfaToken: third.mfa_token,
    registrationChallenge: registration.challenge,
    signInChallenge: signIn.challenge,
    stepChallenge: stepOptions.challenge
  }
  for (const [i, code] of [...confirmed.recovery_codes, ...regenerated.recovery_codes].entries()) secrets[`recoveryCode${i as number}`] = code
  t.ok(lines.length >= 40, `${lines.length} log lines were written`)
  const recorded = JSON.stringify(events)
  for (const [name, secret] of Object.entries(secrets)) {
    t.equal(lines.filter((line) => line.includes(secret)).length, 0, `no ${name} in the logs`)
    t.notOk(recorded.includes(secret), `no ${name} in the events`)
  }
})
