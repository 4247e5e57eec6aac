import type { FastifyPluginAsync } from 'fastify'
import { readFile } from 'node:fs/promises'

const PUBLIC_DIR = new URL('../public/', import.meta.url)

const HTML = 'text/html; charset=utf-8'
const JAVASCRIPT = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

// The pages are plain files: read once at startup and served from memory. The account pages
// are the ones the mailed links open (their token rides in the fragment, which no request carries).
const FILES = [
  { path: '/', file: 'index.html', type: HTML },
  { path: '/forgot-password', file: 'forgot-password.html', type: HTML },
  { path: '/reset-password', file: 'reset-password.html', type: HTML },
  { path: '/verify-email', file: 'verify-email.html', type: HTML },
  { path: '/app.js', file: 'app.js', type: JAVASCRIPT },
  { path: '/api.js', file: 'api.js', type: JAVASCRIPT },
  { path: '/sessions.js', file: 'sessions.js', type: JAVASCRIPT },
  { path: '/api-keys.js', file: 'api-keys.js', type: JAVASCRIPT },
  { path: '/security.js', file: 'security.js', type: JAVASCRIPT },
  { path: '/sign-in.js', file: 'sign-in.js', type: JAVASCRIPT },
  { path: '/webauthn.js', file: 'webauthn.js', type: JAVASCRIPT },
  { path: '/table-cells.js', file: 'table-cells.js', type: JAVASCRIPT },
  { path: '/admin.js', file: 'admin.js', type: JAVASCRIPT },
  { path: '/forgot-password.js', file: 'forgot-password.js', type: JAVASCRIPT },
  { path: '/reset-password.js', file: 'reset-password.js', type: JAVASCRIPT },
  { path: '/verify-email.js', file: 'verify-email.js', type: JAVASCRIPT },
  { path: '/app.css', file: 'app.css', type: CSS }
]

// No inline script or style, no third-party origin, no framing: XSS has little to work with.
// data: images are the QR code of a TOTP enrollment: an SVG in an <img> runs no script.
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

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
 * A page with the server's CSRF cookie and header names in its <meta> tags: the scripts
 * read them from there (the CSP forbids inline script), so they are never written twice.
 */
function withServerNames (html: string, options: PageOptions): string {
  return html
    .replace('{{csrfCookie}}', escapeAttribute(options.csrfCookie))
    .replace('{{csrfHeader}}', escapeAttribute(options.csrfHeader))
}

/** The pages: sign-in and account (index.html), forgot, reset and verify, their scripts and stylesheet. */
export const pages: FastifyPluginAsync<PageOptions> = async (app, options) => {
  for (const { path, file, type } of FILES) {
    const content = await readFile(new URL(file, PUBLIC_DIR), 'utf8')
    const body = type === HTML ? withServerNames(content, options) : content
    app.get(path, async (_request, reply) => {
      return await reply.type(type).header('cache-control', 'no-cache').header('content-security-policy', CONTENT_SECURITY_POLICY).send(body)
    })
  }
}
