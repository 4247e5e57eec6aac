import type { Revocation } from '../sessions/revocation-list.js'

/** The listeners of one store object; told only about revocations that committed. */
export class RevocationListeners {
  readonly #listeners = new Set<(revocation: Revocation) => void>()

  add (listener: (revocation: Revocation) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  notify (revocations: readonly Revocation[]): void {
    for (const revocation of revocations) for (const listener of this.#listeners) listener(revocation)
  }
}
