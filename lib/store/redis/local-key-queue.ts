/**
 * Runs work on sets of keys one at a time per key within this process: work on a key
 * starts when every earlier work on any of its keys has settled. Optimistic updates
 * retry when another writer got in first; queueing this process's own writers means
 * only other instances can make an update retry, so a hot key costs one round of
 * reads and writes per update instead of one per waiting request.
 */
export class LocalKeyQueue {
  readonly #tails = new Map<string, Promise<void>>()

  async run<T> (keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const before = keys.flatMap((key) => this.#tails.get(key) ?? [])
    let release = (): void => {}
    const done = new Promise<void>((resolve) => { release = resolve })
    for (const key of keys) this.#tails.set(key, done)
    try {
      // Tails only ever resolve: waiting on them never throws.
      await Promise.all(before)
      return await work()
    } finally {
      release()
      for (const key of keys) if (this.#tails.get(key) === done) this.#tails.delete(key)
    }
  }
}
