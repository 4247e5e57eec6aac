import type { MailTransport } from './mail-port.js'

/** Where the console transport writes: process.stderr unless a test passes its own. */
export interface MailConsole {
  write: (text: string) => unknown
}

// A username may hold escape sequences that would rewrite the terminal; show them instead.
function printable (text: string): string {
  return text.replace(/(?![\n\t])[\p{Cc}\p{Cf}]/gu, (character) => `\\u{${(character.codePointAt(0) as number).toString(16)}}`)
}

/**
 * The development transport: each mail is printed, the text part with its link, instead of
 * sent. It writes to the stream, never through the application's logger: log lines are
 * kept and shipped, and a live reset link must not be among them.
 */
export function createConsoleTransport (stream: MailConsole = process.stderr): MailTransport {
  return {
    send: async ({ from, to, subject, text }) => {
      stream.write(printable(
        `\n----- mail not sent (mail.transport: 'console') -----\nFrom: ${from}\nTo: ${to}\nSubject: ${subject}\n\n${text.trimEnd()}\n----- end of mail -----\n\n`))
    }
  }
}
