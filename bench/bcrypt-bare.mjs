// The floor for logins: bare @node-rs/bcrypt verifications at a cost, N in flight, for S seconds.
// Prints the verifications per second.
import { hash, verify } from '@node-rs/bcrypt'

const [cost, concurrency, seconds] = process.argv.slice(2).map(Number)
const password = 'correct horse battery staple'
const stored = await hash(password, cost)
let done = 0
const start = performance.now()
const end = start + seconds * 1000
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (performance.now() < end) {
    if (!await verify(password, stored)) throw new Error('bcrypt said no')
    done++
  }
}))
console.log(JSON.stringify({ verifiesPerSecond: done / ((performance.now() - start) / 1000) }))
