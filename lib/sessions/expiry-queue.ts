/**
 * Subjects queued by the whole second they expire in, soonest second first: pruning
 * looks only at the seconds that have passed. Expiries cluster (every access token lives
 * the same few minutes), so the heap of seconds stays small, and each entry costs one
 * pointer in its second's array.
 */
export class ExpiryQueue {
  readonly #buckets = new Map<number, string[]>()
  /** The seconds that have a bucket, as a binary min-heap. */
  readonly #seconds: number[] = []

  /** Queues `subject` to come up once `now` reaches `expiresAt` (seconds). */
  push (expiresAt: number, subject: string): void {
    // Rounded up, so that nothing comes up before it has expired.
    const second = Math.ceil(expiresAt)
    const bucket = this.#buckets.get(second)
    if (bucket !== undefined) {
      bucket.push(subject)
      return
    }
    this.#buckets.set(second, [subject])
    this.#pushSecond(second)
  }

  /**
   * Takes out every subject queued for a second at or before `now` and passes it to
   * `expired`. O(1) when nothing is due; O(k) for k subjects in b seconds, plus O(b log n).
   */
  popExpired (now: number, expired: (subject: string) => void): void {
    const seconds = this.#seconds
    while (seconds.length > 0 && seconds[0] <= now) {
      const second = this.#popSecond()
      const bucket = this.#buckets.get(second) as string[]
      this.#buckets.delete(second)
      for (const subject of bucket) expired(subject)
    }
  }

  #pushSecond (second: number): void {
    const heap = this.#seconds
    let index = heap.length
    heap.push(second)
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (heap[parent] <= second) break
      heap[index] = heap[parent]
      index = parent
    }
    heap[index] = second
  }

  #popSecond (): number {
    const heap = this.#seconds
    const top = heap[0]
    const last = heap.pop() as number
    const length = heap.length
    if (length === 0) return top
    let index = 0
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && heap[right] < heap[left] ? right : left
      if (last <= heap[child]) break
      heap[index] = heap[child]
      index = child
    }
    heap[index] = last
    return top
  }
}
