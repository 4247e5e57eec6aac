// CPU time of processes from /proc (Linux), to tell a design's latency from a starved machine's.
import { readFile } from 'node:fs/promises'

// USER_HZ: 100 on every Linux this runs on.
const TICKS_PER_SECOND = 100

async function cpuSecondsOf (pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** CPU seconds used so far by the instances and by this driver. */
export async function cpuSnapshot (children) {
  const instances = (await Promise.all(children.map((child) => cpuSecondsOf(child.pid)))).reduce((a, b) => a + b, 0)
  const driver = process.cpuUsage()
  return { at: performance.now(), instances, driver: (driver.user + driver.system) / 1e6 }
}

/** Cores used between two snapshots. */
export function coresUsed (before, after) {
  const seconds = (after.at - before.at) / 1000
  return { instances: (after.instances - before.instances) / seconds, driver: (after.driver - before.driver) / seconds }
}
