/**
 * A min-heap of (expiresAt, kind, subject), soonest expiry on top: pruning looks only at
 * what has expired. Parallel arrays rather than an object per entry keep it to about
 * 14 bytes an entry (a double, a string pointer and a small integer).
 */
export class ExpiryQueue {
  readonly #times: number[] = []
  readonly #kinds: number[] = []
  readonly #subjects: string[] = []

  push (expiresAt: number, kind: number, subject: string): void {
    this.#times.push(expiresAt)
    this.#kinds.push(kind)
    this.#subjects.push(subject)
    this.#siftUp(this.#times.length - 1)
  }

  /**
   * Removes every entry that expires at or before `now`, soonest first, passing each to
   * `expired`. Costs O(1) when nothing has expired and O(k log n) for k entries.
   */
  popExpired (now: number, expired: (kind: number, subject: string) => void): void {
    const times = this.#times
    while (times.length > 0 && times[0] <= now) {
      const kind = this.#kinds[0]
      const subject = this.#subjects[0]
      this.#removeTop()
      expired(kind, subject)
    }
  }

  #removeTop (): void {
    const last = this.#times.length - 1
    this.#move(last, 0)
    this.#times.pop()
    this.#kinds.pop()
    this.#subjects.pop()
    if (last > 0) this.#siftDown(0)
  }

  #move (from: number, to: number): void {
    this.#times[to] = this.#times[from]
    this.#kinds[to] = this.#kinds[from]
    this.#subjects[to] = this.#subjects[from]
  }

  #swap (a: number, b: number): void {
    const times = this.#times
    const kinds = this.#kinds
    const subjects = this.#subjects;
    [times[a], times[b]] = [times[b], times[a]];
    [kinds[a], kinds[b]] = [kinds[b], kinds[a]];
    [subjects[a], subjects[b]] = [subjects[b], subjects[a]]
  }

  #siftUp (index: number): void {
    const times = this.#times
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (times[parent] <= times[index]) return
      this.#swap(parent, index)
      index = parent
    }
  }

  #siftDown (index: number): void {
    const times = this.#times
    const length = times.length
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) return
      const right = left + 1
      const child = right < length && times[right] < times[left] ? right : left
      if (times[index] <= times[child]) return
      this.#swap(index, child)
      index = child
    }
  }
}
