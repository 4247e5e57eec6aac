import { constants } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'

// The data folder holds the signing secret and the user table: only the app's own
// user may read them. A mode given at creation can only lose bits to the umask, so
// 0700/0600 stay exactly that.

/** Creates `folder` (and missing parents) as 0700; an existing folder is left as it is. */
export async function createPrivateFolder (folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o700 })
}

// A link planted at the path (in a data folder others could write to) is refused, not followed.
const { O_WRONLY, O_RDONLY, O_CREAT, O_APPEND, O_NOFOLLOW } = constants
export const OPEN_FOR_READING = O_RDONLY | O_NOFOLLOW

/** Creates `file` empty as 0600 unless it exists; an existing file is neither truncated nor changed. */
export async function createPrivateFile (file: string): Promise<void> {
  const handle = await open(file, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
  await handle.close()
}
