import { createServer, type Socket } from 'node:net'
import type { Test } from 'tap'

/** A TCP server that accepts connections and never answers (a backend that hangs); closed at teardown. */
export async function silentServer (t: Test): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return (server.address() as { port: number }).port
}
