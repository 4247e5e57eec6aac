import { randomBytes } from 'node:crypto'
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from './config.js'
import { createPrivateFolder, OPEN_FOR_READING } from './private-files.js'

export interface SecretSource {
  secret: string
  /** Where it came from, for the startup log; never the secret itself. */
  origin: 'environment' | 'generated' | 'data folder'
  /** Set when the kept file is readable or writable by others: one line for the log, never the secret. */
  warning?: string
}

/** Which kept secret: its file in the data folder, its name in messages, and the variable that replaces it. */
interface KeptSecret {
  fileName: string
  label: string
  variable: string
}

const TOKEN_SECRET: KeptSecret = { fileName: 'token-secret', label: 'token secret', variable: 'TOKEN_SECRET' }
const MFA_KEY: KeptSecret = { fileName: 'mfa-key', label: 'second-factor key', variable: 'MFA_KEY' }

export interface SecretFileOptions {
  /** Refuse a secret file other users can read or write instead of warning about it. */
  strict: boolean
  /** The user the file must belong to. Default: the process's own user. */
  owner?: number | undefined
}

function looseModeMessage (file: string, mode: number): string {
  return `${file} is readable or writable by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 ${file}`
}

/** The kept secret, or undefined when there is no file yet; the mode is read from the open file, not the path. */
async function readKeptSecret (kept: KeptSecret, file: string, options: SecretFileOptions): Promise<SecretSource | undefined> {
  let handle
  try {
    handle = await open(file, OPEN_FOR_READING)
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException
    if (code === 'ENOENT') return undefined
    if (code === 'ELOOP') throw new ConfigError(`the ${kept.label} file ${file} is a symbolic link: keep the secret in a regular file, or set ${kept.variable}`)
    throw error
  }
  try {
    const { mode, uid } = await handle.stat()
    // Another user's file is as good as a secret that user chose: never sign with it.
    if (uid !== (options.owner ?? process.getuid?.())) throw new ConfigError(`the ${kept.label} file ${file} belongs to another user (uid ${uid}): chown it to the app's user, or set ${kept.variable}`)
    const loose = (mode & 0o066) !== 0
    if (loose && options.strict) throw new ConfigError(`the ${kept.label} file ${looseModeMessage(file, mode)}`)
    const secret = (await handle.readFile('utf8')).trim()
    return loose ? { secret, origin: 'data folder', warning: looseModeMessage(file, mode) } : { secret, origin: 'data folder' }
  } finally {
    await handle.close()
  }
}

/** The secret from the environment, else the one kept in the data folder, else a new one kept there. */
async function loadKeptSecret (kept: KeptSecret, fromEnvironment: string | undefined, dataDir: string, options: SecretFileOptions): Promise<SecretSource> {
  if (fromEnvironment !== undefined) return { secret: fromEnvironment, origin: 'environment' }
  const file = join(dataDir, kept.fileName)
  const found = await readKeptSecret(kept, file, options)
  if (found !== undefined) return found
  await createPrivateFolder(dataDir)
  const secret = randomBytes(48).toString('base64url')
  // 'wx': if another process created it meanwhile, fail rather than overwrite its secret.
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  return { secret, origin: 'generated' }
}

/**
 * The signing secret: TOKEN_SECRET when set; otherwise one generated once and kept in
 * the data folder (mode 0600, the folder 0700 when created here), so tokens survive
 * restarts. Never a value in the code.
 */
export async function loadTokenSecret (fromEnvironment: string | undefined, dataDir: string, options: SecretFileOptions): Promise<SecretSource> {
  return await loadKeptSecret(TOKEN_SECRET, fromEnvironment, dataDir, options)
}

/**
 * The key that encrypts TOTP secrets and keys recovery-code hashes: MFA_KEY when set;
 * otherwise kept in the data folder like the token secret. Never generated per start: a
 * new key would leave every enrolled authenticator app unreadable.
 */
export async function loadMfaKey (fromEnvironment: string | undefined, dataDir: string, options: SecretFileOptions): Promise<SecretSource> {
  return await loadKeptSecret(MFA_KEY, fromEnvironment, dataDir, options)
}
