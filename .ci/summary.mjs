// Reads the test log and prints `tests: N passed, M failed` from tap's and TSTyche's summaries.
import { readFileSync } from 'node:fs'

// eslint-disable-next-line no-control-regex
const log = readFileSync(process.argv[2], 'utf8').replace(/\u001b\[[0-9;]*m/g, '')
let passed = 0
let failed = 0
const tap = [...log.matchAll(/^# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?(?:, skip: (\d+))?/gm)].at(-1)
// In CI every service is there, so a skipped suite is a failure: it would hide a missing setup.
const skipped = Number(tap?.[4] ?? 0)
if (tap !== undefined) {
  passed += Number(tap[2])
  failed += Number(tap[3] ?? 0)
}
const types = [...log.matchAll(/^Assertions:\s+(?:(\d+) failed, )?(\d+) passed/gm)].at(-1)
if (types !== undefined) {
  passed += Number(types[2])
  failed += Number(types[1] ?? 0)
}
if (tap === undefined) failed += 1
const exitStatus = Number(process.argv[3] ?? 0)
const note = tap === undefined
  ? ' (no tap summary: the suite did not run to the end)'
  : exitStatus !== 0 && failed === 0 ? ` (npm test exited ${exitStatus}: lint, typecheck or coverage failed, see above)` : ''
if (skipped > 0) {
  console.log(`${skipped} tests were skipped; in CI every suite must run (see the skip reasons above)`)
  process.exitCode = 1
}
console.log(`tests: ${passed} passed, ${failed} failed${note}`)
