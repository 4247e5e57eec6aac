import { FastTestHasher } from './fast-test-hasher.js'

/** A fast hasher whose verifications wait until the test opens the gate, to see who is waiting at once. */
export class GatedHasher extends FastTestHasher {
  readonly waiting: string[] = []
  #open = false
  readonly #gates: Array<() => void> = []

  override async verify (password: string, hash: string): Promise<boolean> {
    if (!this.#open) {
      this.waiting.push(password)
      await new Promise<void>((resolve) => this.#gates.push(resolve))
    }
    return await super.verify(password, hash)
  }

  close (): void {
    this.#open = false
  }

  open (): void {
    this.#open = true
    for (const resolve of this.#gates.splice(0)) resolve()
  }
}
