#!/usr/bin/env node
/**
 * Installs the packed package into fresh scratch apps, the way a new user would, and
 * proves it compiles under strict settings and runs:
 *
 * - the README's Install, Quick start and Testing sections copied verbatim, run twice;
 * - the oldest supported fastify and knex (on PostgreSQL), ESM and CommonJS;
 * - the newest fastify and knex (on MariaDB), ESM and CommonJS;
 * - a resource server with no store: nothing with an install script, no knex, no driver.
 *
 * Needs the npm registry (or a warm npm cache), TEST_PG_URL and TEST_MYSQL_URL.
 * Usage: npm run compat [-- --keep] (--keep leaves the scratch apps for inspection).
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NEWEST, OLDEST, RESOURCE_SERVER_PROGRAM, SESSION_PROGRAM, STRICT_COMPILER_OPTIONS, TOOLCHAIN } from './compat/apps.mjs'
import { codeBlock, installCommands, readReadme } from './compat/readme.mjs'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const keep = process.argv.includes('--keep')
const started = performance.now()

function step (message) {
  console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`)
}

function run (command, args, cwd, env = {}) {
  try {
    return execFileSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${error.stdout ?? ''}${error.stderr ?? ''}`)
  }
}

function npm (args, cwd) {
  return run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], cwd)
}

function required (name) {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set: the compatibility run needs PostgreSQL and MariaDB (see the README's Development section)`)
  return value
}

function writeJson (path, value) {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n')
}

/** A fresh app folder: package.json of the module system, and a strict tsconfig. */
function scratchApp (parent, name, type) {
  const folder = join(parent, name)
  mkdirSync(join(folder, 'src'), { recursive: true })
  writeJson(join(folder, 'package.json'), { name: `compat-${name}`, private: true, type })
  writeJson(join(folder, 'tsconfig.json'), { compilerOptions: { ...STRICT_COMPILER_OPTIONS, module: 'NodeNext', moduleResolution: 'NodeNext' }, include: ['src'] })
  return folder
}

function installedVersion (folder, name) {
  return JSON.parse(readFileSync(join(folder, 'node_modules', name, 'package.json'), 'utf8')).version
}

/** Packages in the app's tree that run an install script (what `--ignore-scripts` users never build). */
function packagesWithInstallScripts (folder) {
  const lock = JSON.parse(readFileSync(join(folder, 'package-lock.json'), 'utf8'))
  return Object.entries(lock.packages).filter(([, entry]) => entry.hasInstallScript === true).map(([path]) => path)
}

async function waitForServer (url, child, output) {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`the Quick start exited with ${child.exitCode}:\n${output()}`)
    try {
      return await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }) })
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`the Quick start did not listen on ${url} within 30 s:\n${output()}`)
}

/** Starts the compiled Quick start, logs alice in and calls /me, then stops it. */
async function runQuickStart (folder, secret) {
  const child = spawn(process.execPath, ['dist/server.js'], { cwd: folder, env: { ...process.env, TOKEN_SECRET: secret, NODE_ENV: 'development' } })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  try {
    const login = await waitForServer('http://127.0.0.1:3000/auth/login', child, () => output)
    const body = await login.json()
    if (login.status !== 200) throw new Error(`Quick start login answered ${login.status}: ${JSON.stringify(body)}`)
    const me = await fetch('http://127.0.0.1:3000/me', { headers: { authorization: `Bearer ${body.access_token}` } })
    if (me.status !== 200) throw new Error(`Quick start /me answered ${me.status}`)
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.exitCode !== null ? resolve() : child.once('exit', resolve))
  }
}

async function readmeApp (parent, tarball) {
  const readme = readReadme(join(ROOT, 'README.md'))
  const folder = scratchApp(parent, 'readme', 'module')
  for (const args of installCommands(readme)) {
    const packages = args.map((word) => word === 'fastify-token-auth' ? tarball : word)
    step(`readme: npm install ${args.join(' ')}`)
    npm(['install', ...packages], folder)
  }
  npm(['install', '--save-dev', ...TOOLCHAIN], folder)
  writeFileSync(join(folder, 'src', 'server.ts'), codeBlock(readme, 'Quick start', 'ts') + '\n')
  writeFileSync(join(folder, 'src', 'app.test.ts'), codeBlock(readme, 'Testing', 'ts') + '\n')
  step('readme: tsc (strict, exactOptionalPropertyTypes, skipLibCheck false)')
  run('npx', ['tsc', '-p', '.'], folder)
  const secret = randomBytes(48).toString('base64url')
  for (const round of ['first', 'second']) {
    step(`readme: Quick start, ${round} run`)
    await runQuickStart(folder, secret)
    step(`readme: Testing example, ${round} run`)
    const report = run(process.execPath, ['--test', 'dist/app.test.js'], folder, { NODE_ENV: 'test' })
    const passed = Number(report.match(/^# pass (\d+)$/m)?.[1] ?? 0)
    if (passed === 0 || !/^# fail 0$/m.test(report)) throw new Error(`the Testing example ran no passing test:\n${report}`)
    step(`readme: Testing example, ${passed} tests passed`)
  }
}

/** One install of fastify + knex + driver, with an ESM and a CommonJS app compiled and run on it. */
function sessionApps (parent, tarball, label, versions, driver, env) {
  const base = join(parent, label)
  mkdirSync(base, { recursive: true })
  writeJson(join(base, 'package.json'), { name: `compat-${label}`, private: true })
  step(`${label}: installing fastify@${versions.fastify} knex@${versions.knex} ${driver}`)
  npm(['install', tarball, `fastify@${versions.fastify}`, `knex@${versions.knex}`, driver, ...TOOLCHAIN], base)
  step(`${label}: fastify ${installedVersion(base, 'fastify')}, knex ${installedVersion(base, 'knex')}, @types/node ${installedVersion(base, '@types/node')}, typescript ${installedVersion(base, 'typescript')}`)
  for (const [system, type] of [['esm', 'module'], ['cjs', 'commonjs']]) {
    const folder = scratchApp(base, system, type)
    writeFileSync(join(folder, 'src', 'session.ts'), SESSION_PROGRAM)
    step(`${label}/${system}: tsc and run`)
    run(join(base, 'node_modules', '.bin', 'tsc'), ['-p', '.'], folder)
    process.stdout.write(run(process.execPath, ['dist/session.js'], folder, { ...env, TABLE_PREFIX: `compat_${label}_${system}_`, TOKEN_SECRET: randomBytes(48).toString('base64url') }))
  }
}

function resourceServerApp (parent, tarball) {
  const folder = scratchApp(parent, 'resource-server', 'commonjs')
  step('resource-server: installing fastify and the package only')
  npm(['install', tarball, `fastify@${NEWEST.fastify}`, ...TOOLCHAIN], folder)
  const scripted = packagesWithInstallScripts(folder)
  if (scripted.length > 0) throw new Error(`a resource server installs packages with install scripts: ${scripted.join(', ')}`)
  const installed = readdirSync(join(folder, 'node_modules'))
  const unwanted = ['knex', 'sqlite3', 'pg', 'mysql2'].filter((name) => installed.includes(name))
  if (unwanted.length > 0) throw new Error(`a resource server installs ${unwanted.join(', ')}`)
  writeFileSync(join(folder, 'src', 'server.ts'), RESOURCE_SERVER_PROGRAM)
  step('resource-server: tsc and run (CommonJS)')
  run('npx', ['tsc', '-p', '.'], folder)
  process.stdout.write(run(process.execPath, ['dist/server.js'], folder))
}

async function main () {
  const pgUrl = required('TEST_PG_URL')
  const mysqlUrl = required('TEST_MYSQL_URL')
  const parent = mkdtempSync(join(tmpdir(), 'fastify-token-auth-compat-'))
  try {
    step('building and packing the package')
    run('npm', ['run', 'build'], ROOT)
    const tarball = join(parent, JSON.parse(run('npm', ['pack', '--json', '--pack-destination', parent], ROOT))[0].filename)
    resourceServerApp(parent, tarball)
    sessionApps(parent, tarball, 'oldest', OLDEST, 'pg', { DB_CLIENT: 'pg', DB_URL: pgUrl })
    sessionApps(parent, tarball, 'newest', NEWEST, 'mysql2', { DB_CLIENT: 'mysql2', DB_URL: mysqlUrl })
    await readmeApp(parent, tarball)
    step('compatibility: every scratch app compiled and ran')
  } finally {
    if (keep) console.log(`scratch apps kept in ${parent}`)
    else rmSync(parent, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error.message)
  process.exitCode = 1
})
