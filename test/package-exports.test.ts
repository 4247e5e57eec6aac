import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { SECRET } from './helpers/app.js'

// The built package (dist/, as `npm test` builds it) through its `exports`, without the
// source condition the other tests use: ESM import and CommonJS require, types included.

const run = promisify(execFile)
const root = join(import.meta.dirname, '..')
const fixtures = join(root, 'test', 'fixtures', 'consumer')
const env = { ...process.env, NODE_OPTIONS: '' }

t.before(() => {
  if (!existsSync(join(root, 'dist', 'esm', 'index.js')) || !existsSync(join(root, 'dist', 'cjs', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test')
  }
})

t.test('the published types compile, and the package imports from ESM and requires from CommonJS', async (t) => {
  // The output stays inside the package so that 'fastify-token-auth' resolves to itself.
  const out = join(fixtures, 'out')
  t.teardown(async () => { await rm(out, { recursive: true, force: true }) })
  // One program per module system, as an application is one or the other.
  for (const project of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
    await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(fixtures, project)], { cwd: root, env })
  }
  const esm = await run(process.execPath, [join(out, 'esm-consumer.mjs'), SECRET], { cwd: root, env })
  t.same(JSON.parse(esm.stdout), { ok: 'esm-user', bad: 'FST_TOKEN_AUTH_INVALID_TOKEN', isError: true, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', knexStore: 'function' })
  const cjs = await run(process.execPath, [join(out, 'cjs-consumer.cjs'), SECRET], { cwd: root, env })
  t.same(JSON.parse(cjs.stdout), { ok: 'cjs-user', bad: 'FST_TOKEN_AUTH_INVALID_TOKEN', isError: true, code: 'FST_TOKEN_AUTH_INVALID_TOKEN', sameDefault: true })
})
