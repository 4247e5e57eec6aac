import type { FastifyPluginAsync } from 'fastify'
import { readFile } from 'node:fs/promises'

const PUBLIC_DIR = new URL('../public/', import.meta.url)

// The page is plain files: read once at startup and served from memory.
const FILES = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { path: '/app.css', file: 'app.css', type: 'text/css; charset=utf-8' }
]

// No inline script or style, no third-party origin, no framing: XSS has little to work with.
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

/** The login page: index.html, app.js, app.css. */
export const pages: FastifyPluginAsync = async (app) => {
  for (const { path, file, type } of FILES) {
    const body = await readFile(new URL(file, PUBLIC_DIR))
    app.get(path, async (_request, reply) => {
      return await reply.type(type).header('cache-control', 'no-cache').header('content-security-policy', CONTENT_SECURITY_POLICY).send(body)
    })
  }
}
