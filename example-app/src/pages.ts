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

export interface PageOptions {
  /** The readable cookie that carries the CSRF token (its name depends on cookie.secure). */
  csrfCookie: string
  /** The header in which unsafe requests echo it. */
  csrfHeader: string
}

function escapeAttribute (value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/**
 * index.html with the server's CSRF cookie and header names in its <meta> tags: the page
 * reads them from there (the CSP forbids inline script), so they are never written twice.
 */
function withServerNames (html: string, options: PageOptions): string {
  return html
    .replace('{{csrfCookie}}', escapeAttribute(options.csrfCookie))
    .replace('{{csrfHeader}}', escapeAttribute(options.csrfHeader))
}

/** The login page: index.html, app.js, app.css. */
export const pages: FastifyPluginAsync<PageOptions> = async (app, options) => {
  for (const { path, file, type } of FILES) {
    const content = await readFile(new URL(file, PUBLIC_DIR), 'utf8')
    const body = file === 'index.html' ? withServerNames(content, options) : content
    app.get(path, async (_request, reply) => {
      return await reply.type(type).header('cache-control', 'no-cache').header('content-security-policy', CONTENT_SECURITY_POLICY).send(body)
    })
  }
}
