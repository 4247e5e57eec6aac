// Requests to the instances over keep-alive connections (one agent per instance), timed
// from the call to the end of the response body.
import { Agent, request } from 'node:http'

export class InstanceClient {
  constructor (origins) {
    this.origins = origins
    this.agents = origins.map(() => new Agent({ keepAlive: true, maxSockets: 64 }))
  }

  /** Resolves { status, body, cookies, ms, doneAt }; status 0 for a socket error. */
  send (instance, method, path, { headers = {}, json, clientAddress } = {}) {
    const url = new URL(path, this.origins[instance])
    const payload = json === undefined ? undefined : JSON.stringify(json)
    const allHeaders = { ...headers }
    if (payload !== undefined) allHeaders['content-type'] = 'application/json'
    // The instances trust 127.0.0.1 as a proxy: each virtual user counts as its own address.
    if (clientAddress !== undefined) allHeaders['x-forwarded-for'] = clientAddress
    const started = performance.now()
    return new Promise((resolve) => {
      const req = request(url, { method, headers: allHeaders, agent: this.agents[instance] }, (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => {
          const doneAt = performance.now()
          const text = Buffer.concat(chunks).toString('utf8')
          let body = null
          try {
            if (text !== '' && String(res.headers['content-type']).startsWith('application/json')) body = JSON.parse(text)
          } catch {
            // A broken body shows as the status with no body; the checks count the status.
          }
          const cookies = res.headers['set-cookie'] ?? []
          resolve({ status: res.statusCode, body, cookies, ms: doneAt - started, doneAt })
        })
        res.on('error', () => { resolve({ status: 0, body: null, cookies: [], ms: performance.now() - started, doneAt: performance.now() }) })
      })
      req.on('error', () => { resolve({ status: 0, body: null, cookies: [], ms: performance.now() - started, doneAt: performance.now() }) })
      req.end(payload)
    })
  }

  close () {
    for (const agent of this.agents) agent.destroy()
  }
}
