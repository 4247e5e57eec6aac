import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import t from 'tap'

// The one-way architecture, checked on the sources: lib/ never imports fastify, and no
// folder under lib/ imports from a folder that imports it back (types included).

const root = join(import.meta.dirname, '..')
const IMPORT = /(?:import|export)[^'"]*?from\s+'([^']+)'/g

function sourceFiles (folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : [])
}

const imports = sourceFiles('lib').map((file) => ({
  file,
  specifiers: [...readFileSync(join(root, file), 'utf8').matchAll(IMPORT)].map((match) => match[1])
}))

t.test('nothing under lib/ imports fastify or a plugin', async (t) => {
  for (const { file, specifiers } of imports) {
    const framework = (specifier: string): boolean => specifier === 'fastify' || (specifier.startsWith('@fastify/') && specifier !== '@fastify/error')
    t.notOk(specifiers.some((specifier) => framework(specifier) || specifier.includes('/plugins/')), file)
  }
})

t.test('the folders under lib/ import each other one way only', async (t) => {
  const edges = new Map<string, Set<string>>()
  for (const { file, specifiers } of imports) {
    for (const specifier of specifiers.filter((s) => s.startsWith('.'))) {
      const from = dirname(file)
      const to = dirname(normalize(join(from, specifier)))
      if (from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to))
    }
  }
  const cycles: string[] = []
  const visit = (folder: string, path: string[]): void => {
    for (const next of edges.get(folder) ?? []) {
      if (path.includes(next)) cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(root, join(root, f))).join(' -> '))
      else visit(next, [...path, next])
    }
  }
  for (const folder of edges.keys()) visit(folder, [folder])
  t.same(cycles, [], 'no cycles between folders')
  t.ok(edges.size >= 5, 'the check saw the folders')
})
