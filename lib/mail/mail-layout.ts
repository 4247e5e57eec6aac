import type { MailMessage } from './mail-port.js'

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text made safe for HTML, in element content and in quoted attributes (an href) alike. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character])
}

/** One block of a mail, in plain text: a paragraph, or a link shown as a button in HTML. */
export type MailBlock = string | { button: string, href: string }

const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif"
const MUTED = 'font-size:13px;color:#57606a'

function blockText (block: MailBlock): string {
  // A link alone on its line: every client makes it clickable, and nothing wraps into it.
  return typeof block === 'string' ? block : block.href
}

function blockHtml (block: MailBlock): string {
  if (typeof block === 'string') return `<p style="margin:0 0 16px">${escapeHtml(block)}</p>`
  const href = escapeHtml(block.href)
  // The button, then the same link as text: some clients strip styles, some readers copy the address.
  return `<p style="margin:24px 0"><a href="${href}" style="background:#1f6feb;color:#ffffff;text-decoration:none;padding:10px 18px;border-radius:6px;display:inline-block">${escapeHtml(block.button)}</a></p>\n` +
    `<p style="margin:0 0 16px;${MUTED}">Or open this link: <a href="${href}" style="color:#1f6feb;word-break:break-all">${href}</a></p>`
}

/**
 * Both parts of a short mail from one list of blocks, so that they never say different
 * things: the subject as the HTML heading, a greeting, the blocks, the product as the
 * signature. HTML is one column with inline styles (mail clients drop style sheets), and
 * every value is escaped here: callers pass plain text.
 */
export function renderMail (subject: string, productName: string, username: string, blocks: MailBlock[]): Omit<MailMessage, 'to'> {
  const greeting = `Hi ${username},`
  const text = [greeting, ...blocks.map(blockText), `— ${productName}`].join('\n\n') + '\n'
  const html = '<!doctype html>\n<html><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(subject)}</title></head>\n` +
    `<body style="margin:0;padding:24px;background:#f6f8fa;font-family:${FONT};font-size:15px;line-height:1.5;color:#24292f">\n` +
    '<div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:24px">\n' +
    `<h1 style="margin:0 0 16px;font-size:20px;font-weight:600">${escapeHtml(subject)}</h1>\n` +
    [greeting, ...blocks].map(blockHtml).join('\n') +
    `\n<p style="margin:24px 0 0;${MUTED}">${escapeHtml(productName)}</p>\n` +
    '</div>\n</body></html>\n'
  return { subject, text, html }
}
