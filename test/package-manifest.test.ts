import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import semver from 'semver'
import t from 'tap'

// What an application installs with the package: peer ranges it can satisfy with its own
// fastify and knex, and nothing it did not ask for.

const root = join(import.meta.dirname, '..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string }
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
  devDependencies: Record<string, string>
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string, dev?: boolean, engines?: { node?: string } | string[], dependencies?: Record<string, string> }>
}

t.test('fastify is a peer dependency, so the application\'s own fastify is the one the plugin decorates', async (t) => {
  t.equal(manifest.peerDependencies.fastify, '^5.0.0')
  t.notOk('fastify' in manifest.dependencies)
  t.notOk('@fastify/cookie' in manifest.dependencies, 'the plugin handles its own cookies and leaves @fastify/cookie to the application')
})

t.test('knex and every database driver are optional peers: a resource server installs none of them', async (t) => {
  for (const name of ['knex', 'sqlite3', 'pg', 'mysql2']) {
    t.ok(name in manifest.peerDependencies, `${name} is a peer`)
    t.equal(manifest.peerDependenciesMeta[name]?.optional, true, `${name} is optional`)
    t.notOk(name in manifest.dependencies, `${name} is not a dependency`)
    t.ok(name in manifest.devDependencies, `${name} is installed for the tests and the example app`)
  }
})

t.test('runtime dependencies use caret ranges, so applications share one copy with their other plugins', async (t) => {
  for (const [name, range] of Object.entries(manifest.dependencies)) {
    t.match(range, /^\^\d+\.\d+\.\d+$/, `${name}: ${range}`)
  }
})

t.test('every package an application installs with the package supports every Node.js the engines field allows', async (t) => {
  const root = lock.packages['']
  t.same(root?.engines, manifest.engines, 'the lock file records the same engines')
  // What a consumer gets: our runtime tree, and the peers at the versions the tests run.
  const installed = Object.entries(lock.packages).filter(([path, entry]) => {
    const name = path.replace(/^.*node_modules\//, '')
    return path !== '' && (entry.dev !== true || (name in manifest.peerDependencies && path === `node_modules/${name}`))
  })
  t.ok(installed.length > 5)
  for (const [path, entry] of installed) {
    const nodeRange = Array.isArray(entry.engines) ? undefined : entry.engines?.node
    if (nodeRange === undefined) continue
    t.ok(semver.subset(manifest.engines.node, nodeRange), `${path} needs node ${nodeRange}; engines says ${manifest.engines.node}`)
  }
})

/** The bare module names the built ESM entry point reaches, following its relative imports. */
function bareImportsReachedFrom (entry: string): Set<string> {
  const seen = new Set<string>()
  const bare = new Set<string>()
  const pending = [entry]
  while (pending.length > 0) {
    const file = pending.pop() as string
    if (seen.has(file)) continue
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    for (const [, specifier] of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|import\('([^']+)'\)/g)) {
      if (specifier === undefined) continue
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier))
      else bare.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0] as string)
    }
  }
  return bare
}

t.test('each entry point loads only declared dependencies; the root one never loads knex or a database driver', async (t) => {
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
  const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)])
  const rootImports = [...bareImportsReachedFrom(join(root, 'dist', 'esm', 'index.js'))].filter((name) => !builtins.has(name))
  t.same(rootImports.filter((name) => !declared.has(name)), [], 'the root entry imports only declared packages')
  t.same(rootImports.filter((name) => name in manifest.peerDependencies), [], 'the root entry imports no peer at run time')
  const knexImports = [...bareImportsReachedFrom(join(root, 'dist', 'esm', 'knex.js'))].filter((name) => !builtins.has(name))
  t.same(knexImports.filter((name) => !declared.has(name)), [], 'the knex entry imports only declared packages')
  const redisImports = [...bareImportsReachedFrom(join(root, 'dist', 'esm', 'redis.js'))].filter((name) => !builtins.has(name))
  t.same(redisImports.filter((name) => !declared.has(name) || name in manifest.peerDependencies), [], 'the redis entry imports no peer and no Redis client: the application brings its own')
})
