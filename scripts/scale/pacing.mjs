// A fixed request rate without catch-up bursts: a caller that fell behind starts again from now.
import { sleep } from './log.mjs'

export function pacer (intervalMs) {
  let next = performance.now()
  return async () => {
    next += intervalMs
    const wait = next - performance.now()
    if (wait > 0) await sleep(wait)
    else if (wait < -intervalMs) next = performance.now()
  }
}
