import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface SecretSource {
  secret: string
  /** Where it came from, for the startup log; never the secret itself. */
  origin: 'environment' | 'generated' | 'data folder'
}

/**
 * The signing secret: TOKEN_SECRET when set; otherwise one generated once and kept in
 * the data folder (mode 0600), so tokens survive restarts. Never a value in the code.
 */
export async function loadTokenSecret (fromEnvironment: string | undefined, dataDir: string): Promise<SecretSource> {
  if (fromEnvironment !== undefined) return { secret: fromEnvironment, origin: 'environment' }
  const file = join(dataDir, 'token-secret')
  try {
    return { secret: (await readFile(file, 'utf8')).trim(), origin: 'data folder' }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await mkdir(dataDir, { recursive: true })
  const secret = randomBytes(48).toString('base64url')
  // 'wx': if another process created it meanwhile, fail rather than overwrite its secret.
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  return { secret, origin: 'generated' }
}
