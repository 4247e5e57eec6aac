import { mkdir, open } from 'node:fs/promises'

// The data folder holds the signing secret and the user table: only the app's own
// user may read them. A mode given at creation can only lose bits to the umask, so
// 0700/0600 stay exactly that.

/** Creates `folder` (and missing parents) as 0700; an existing folder is left as it is. */
export async function createPrivateFolder (folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o700 })
}

/** Creates `file` empty as 0600 unless it exists; an existing file is neither truncated nor changed. */
export async function createPrivateFile (file: string): Promise<void> {
  const handle = await open(file, 'a', 0o600)
  await handle.close()
}
