// The cost-growth benchmark (bench/cost-growth.mjs), run as a child process; its markdown
// is appended to the report and its exit code counts as a check.
import { spawn } from 'node:child_process'
import { access, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { running } from './instances.mjs'
import { say } from './log.mjs'

const SCRIPT = new URL('../../bench/cost-growth.mjs', import.meta.url).pathname

export async function runCostGrowth (quick) {
  try {
    await access(SCRIPT)
  } catch {
    say('cost growth: bench/cost-growth.mjs is not there; skipped')
    return { ran: false }
  }
  const out = join(tmpdir(), `scale-cost-${process.pid}.md`)
  say(`cost growth: node bench/cost-growth.mjs${quick ? ' --quick' : ''}`)
  const child = spawn(process.execPath, [SCRIPT, ...(quick ? ['--quick'] : []), '--out', out], { stdio: ['ignore', 'inherit', 'inherit'] })
  // Killed with the instances should the run be stopped.
  running.add(child)
  child.on('exit', () => { running.delete(child) })
  const code = await new Promise((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? signal)))
  let markdown = ''
  try {
    markdown = await readFile(out, 'utf8')
    await rm(out)
  } catch {
    markdown = '_bench/cost-growth.mjs wrote no report._\n'
  }
  return { ran: true, passed: code === 0, code, markdown }
}
