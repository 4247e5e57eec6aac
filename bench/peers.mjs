// Peers that cannot live in the project's dependency tree (their peer ranges clash with the
// dev tools'): each has a folder of its own under bench/peers/ with a pinned package-lock,
// installed there on first use.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { promisify } from 'node:util'

const folder = (name) => new URL(`./peers/${name}/`, import.meta.url).pathname

/** Installs bench/peers/<name> from its lock file unless it is there already; the folder's path. */
export async function ensurePeer (name, onProgress) {
  const dir = folder(name)
  if (!existsSync(`${dir}node_modules/.package-lock.json`)) {
    onProgress?.(`installing bench/peers/${name} (npm ci --prefix bench/peers/${name}), once`)
    await promisify(execFile)('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund'], { maxBuffer: 16 * 2 ** 20 })
  }
  return dir
}

/** The installed version of a package of a peer folder, or undefined when not installed. */
export function peerVersion (name, pkg) {
  const file = `${folder(name)}node_modules/${pkg}/package.json`
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined
}
