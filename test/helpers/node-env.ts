import type { Test } from 'tap'

/** Sets NODE_ENV (undefined: unset) for one test and puts the old value back in teardown. */
export function withNodeEnv (t: Test, value: string | undefined): void {
  const before = process.env.NODE_ENV
  const set = (to: string | undefined): void => {
    if (to === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = to
  }
  set(value)
  t.teardown(() => { set(before) })
}
