import { createConnection, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP relay in front of a database: `cut()` closes the port and kills every
 * connection (the database "goes away"), `blackHole()` keeps every connection open and
 * accepts new ones but drops the bytes both ways (a silent network partition: nothing
 * errors until a timeout says so), `restore()` relays again (opening the same port after
 * a cut). Bytes dropped are lost: a request caught in the black hole is never answered.
 */
export class TcpProxy {
  readonly #target: { host: string, port: number }
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  #blackHoled = false
  port = 0

  private constructor (target: { host: string, port: number }) {
    this.#target = target
  }

  static async start (target: { host: string, port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target)
    await proxy.restore()
    return proxy
  }

  #track (socket: Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }

  blackHole (): void {
    this.#blackHoled = true
  }

  async restore (): Promise<void> {
    this.#blackHoled = false
    if (this.#server !== undefined) return
    const server = createServer((client) => {
      const upstream = createConnection(this.#target)
      this.#track(client)
      this.#track(upstream)
      // When either side goes, so does the other, as with a direct connection.
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      client.on('data', (chunk) => { if (!this.#blackHoled) upstream.write(chunk) })
      upstream.on('data', (chunk) => { if (!this.#blackHoled) client.write(chunk) })
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.#server = server
  }

  async cut (): Promise<void> {
    const server = this.#server
    this.#server = undefined
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => { server?.close(() => { resolve() }) })
  }
}

/** The URL with its host and port replaced by the proxy's. */
export function throughProxy (url: string, proxy: TcpProxy): string {
  const parsed = new URL(url)
  parsed.hostname = '127.0.0.1'
  parsed.port = String(proxy.port)
  return parsed.toString()
}
