// Starts one measurement (a module of this folder) in a child process with --expose-gc,
// passes its progress through, and resolves to the JSON it prints.
import { spawn } from 'node:child_process'

export function measure (task, args) {
  process.stdout.write(`  ${task} ${JSON.stringify(args)}\n`)
  const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=2048', new URL('./child.mjs', import.meta.url).pathname, task, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${task} exited with ${code}`))
      else resolve(JSON.parse(output.trim().split('\n').pop()))
    })
  })
}
