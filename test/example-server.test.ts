import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { connect, createServer } from 'node:net'
import { createInterface } from 'node:readline'
import t, { type Test } from 'tap'
import { dataFolder, DEMO_PASSWORD, EXAMPLE_ROOT } from './helpers/example-app.js'

// The start script as a child process: it listens, prints where, refuses a bad
// configuration clearly, and shuts down gracefully on SIGTERM and SIGINT.

const SERVER = join(EXAMPLE_ROOT, 'src', 'server.ts')

interface Started { child: ChildProcess, origin: string, output: string[], exit: Promise<number | null> }

function run (env: NodeJS.ProcessEnv): { child: ChildProcess, output: string[], exit: Promise<number | null> } {
  // The same loaders as this test process (TypeScript, coverage), so the source runs as is.
  const child = spawn(process.execPath, [...process.execArgv, SERVER], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (line) => output.push(line))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code) }))
  return { child, output, exit }
}

async function start (t: Test, env: NodeJS.ProcessEnv = {}, readyLine = 'example app listening on'): Promise<Started> {
  // Production requires a mail server and the public address; nothing here sends mail, so none listens there.
  const production = { NODE_ENV: 'production', TOKEN_SECRET: 'VjwD2x2t8YIcdQfgEtj1FzOCNDX80KICCJMf376zscO4', MFA_KEY: 'Zr4t9Qw2Lx7Vb1Nm8Kp3Hs6Dj0Fg5AyTe3Wc', MAIL_URL: 'smtp://127.0.0.1:1', PUBLIC_URL: 'https://app.example.test' }
  const running = run({ ...production, DEMO_PASSWORD, HOST: '127.0.0.1', PORT: '0', REPORTS_PORT: '0', DATA_DIR: await dataFolder(t), ...env })
  t.teardown(() => { running.child.kill('SIGKILL') })
  for (let i = 0; i < 200; i++) {
    const line = running.output.find((entry) => entry.includes(readyLine))
    if (line !== undefined) return { ...running, origin: /http:\/\/[^/\s"]+/.exec(line)?.[0] as string }
    if (running.child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the server did not start:\n${running.output.join('\n')}`)
}

t.test('the server starts, serves, and on SIGTERM lets an in-flight login finish before exiting 0', async (t) => {
  const server = await start(t)
  t.equal((await fetch(`${server.origin}/healthz`)).status, 200)
  const login = fetch(`${server.origin}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'demo', password: DEMO_PASSWORD }) })
  await new Promise((resolve) => setTimeout(resolve, 50))
  server.child.kill('SIGTERM')
  t.equal((await login).status, 200, 'the request in flight got its answer')
  t.equal(await server.exit, 0)
  t.ok(server.output.some((line) => line.includes('SIGTERM received')))
  t.notOk(server.output.some((line) => /unhandled|Error:/i.test(line)), 'no unhandled rejection or stray error')
  t.ok(server.output.some((line) => line.includes('sign in as "demo" (admin) or "viewer" (no roles)')), 'the demo accounts are printed')
  t.notOk(server.output.some((line) => line.includes(DEMO_PASSWORD)), 'a password from DEMO_PASSWORD is not printed')
})

t.test('SIGINT shuts down too', async (t) => {
  const server = await start(t, { DEMO_PASSWORD: '' })
  server.child.kill('SIGINT')
  t.equal(await server.exit, 0)
  t.equal(server.output.filter((line) => line.includes('SIGINT received')).length, 1)
})

t.test('a request that never completes cannot hold the shutdown: exit 1 after SHUTDOWN_TIMEOUT, further signals ignored', async (t) => {
  const server = await start(t, { DEMO_PASSWORD: '', SHUTDOWN_TIMEOUT: '1' })
  const { port, hostname } = new URL(server.origin)
  const socket = connect(Number(port), hostname)
  t.teardown(() => { socket.destroy() })
  // Headers announcing a body that never comes: the request stays in flight.
  socket.write('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{')
  await new Promise((resolve) => setTimeout(resolve, 200))
  server.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 300))
  server.child.kill('SIGINT')
  t.equal(await server.exit, 1)
  t.ok(server.output.some((line) => line.includes('shutdown took longer than 1000 ms')))
  t.equal(server.output.filter((line) => line.includes('received: finishing')).length, 1, 'the second signal changed nothing')
})

t.test('the default demo password is printed for the person who started the app', async (t) => {
  const server = await start(t, { NODE_ENV: 'development', HOST: 'localhost', DEMO_PASSWORD: undefined, LOG_LEVEL: 'silent' }, 'with the password:')
  t.ok(server.output.some((line) => line.includes(`with the password: ${DEMO_PASSWORD}`)))
  t.ok(server.output.some((line) => /Open http:\/\/localhost:\d+\//.test(line)), 'the address is shown as localhost, where Secure cookies work over http')
  server.child.kill('SIGTERM')
  t.equal(await server.exit, 0)
})

t.test('a bad configuration stops the start with one clear line and exit code 1', async (t) => {
  const bad = run({ PORT: 'http', DATA_DIR: await dataFolder(t) })
  t.equal(await bad.exit, 1)
  t.match(bad.output.join('\n'), /Configuration error: PORT must be a port number/)
})

t.test('a database that cannot be opened stops the start with exit code 1', async (t) => {
  const bad = run({ DATABASE_URL: `sqlite:${join(EXAMPLE_ROOT, 'public', 'index.html', 'x.sqlite')}`, DATA_DIR: await dataFolder(t), LOG_LEVEL: 'silent' })
  t.equal(await bad.exit, 1)
  t.match(bad.output.join('\n'), /Cannot start: /)
})

t.test('the start script runs the reports service beside the app: it verifies the app\'s tokens by JWKS and refuses them after logout', async (t) => {
  const server = await start(t, {}, 'reports service listening on')
  const reportsOrigin = server.origin
  const appOrigin = /http:\/\/[^/\s"]+/.exec(server.output.find((line) => line.includes('example app listening on')) as string)?.[0] as string
  t.not(reportsOrigin, appOrigin)
  const login = await fetch(`${appOrigin}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'demo', password: DEMO_PASSWORD }) })
  const token = (await login.json()).access_token as string
  const reports = await fetch(`${reportsOrigin}/reports`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(reports.status, 200)
  t.equal((await fetch(`${appOrigin}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 204)
  let status = 200
  for (let attempt = 0; attempt < 50 && status === 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    status = (await fetch(`${reportsOrigin}/reports`, { headers: { authorization: `Bearer ${token}` } })).status
  }
  t.equal(status, 401, 'the logged-out token is refused by the second service')
  server.child.kill('SIGTERM')
  t.equal(await server.exit, 0)
})

t.test('a reports service that cannot start (its port taken) is reported in one line, and the app runs on without it', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => { blocker.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => { blocker.close() })
  const taken = String((blocker.address() as { port: number }).port)
  const server = await start(t, { REPORTS_PORT: taken, LOG_LEVEL: 'info' })
  for (let i = 0; i < 100 && !server.output.some((line) => line.includes('the reports service did not start')); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  t.ok(server.output.some((line) => /the reports service did not start: .*EADDRINUSE.*; the app runs without it/.test(line)))
  t.equal((await fetch(`${server.origin}/healthz`)).status, 200, 'the app still serves')
  server.child.kill('SIGTERM')
  t.equal(await server.exit, 0)
})
