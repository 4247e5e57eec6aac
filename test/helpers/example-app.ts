import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { build } from '../../example-app/src/app.js'
import { loadConfig, type AppConfig } from '../../example-app/src/config.js'

export const EXAMPLE_ROOT = join(import.meta.dirname, '..', '..', 'example-app')
export const DEMO_PASSWORD = 'correct horse battery staple'

/** A data folder of its own for one test, removed in teardown. */
export async function dataFolder (t: Test): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'fta-example-'))
  t.teardown(async () => { await rm(folder, { recursive: true, force: true }) })
  return folder
}

/** The configuration the start script would read from `env`, with a fresh data folder. */
export async function exampleConfig (t: Test, env: NodeJS.ProcessEnv = {}): Promise<AppConfig> {
  return loadConfig({ DATA_DIR: await dataFolder(t), ...env }, EXAMPLE_ROOT)
}

/** The example app built (not listening) and closed in teardown. */
export async function buildExample (t: Test, config: AppConfig): Promise<Awaited<ReturnType<typeof build>>> {
  const app = await build(config, { logger: false })
  t.teardown(async () => { await app.close() })
  return app
}
