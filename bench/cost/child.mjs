// Runs one measurement in its own process (started with --expose-gc by cost-growth.mjs)
// and prints its result as one JSON line on stdout; progress goes to stderr.
const [task, json] = process.argv.slice(2)
const args = JSON.parse(json ?? '{}')
const module = await import(`./${task}.mjs`)
const result = await module.run(args)
process.stdout.write(`${JSON.stringify(result)}\n`)
