import t from 'tap'
import { createConsoleTransport } from '../lib/mail/console-transport.js'
import { createAccountMailer, resolveMailOptions } from '../lib/mail/create-mailer.js'
import { capturedLog, FROM, LINKS, TOKEN } from './helpers/mail-log.js'

// The development transport: each mail is printed with its link, on its own stream and
// never through the application's log, which is told only that mails are not being sent.

t.test('the console transport prints the sender, recipient, subject and text part with its link, and no HTML', async (t) => {
  const written: string[] = []
  const transport = createConsoleTransport({ write: (text) => written.push(text) })
  const link = `${LINKS.passwordReset}#token=${TOKEN}`
  await transport.send({ from: FROM, to: 'alice@example.test', subject: 'Reset your Example password', text: `Hi alice,\n\n${link}\n\n`, html: '<p>the HTML part</p>' })
  t.same(written, [
    "\n----- mail not sent (mail.transport: 'console') -----\n" +
    `From: ${FROM}\nTo: alice@example.test\nSubject: Reset your Example password\n\nHi alice,\n\n${link}\n` +
    '----- end of mail -----\n\n'
  ])
})

t.test('the console transport shows control characters instead of letting them drive the terminal', async (t) => {
  const written: string[] = []
  await createConsoleTransport({ write: (text) => written.push(text) })
    .send({ from: FROM, to: 'a@example.test', subject: 'Hello', text: 'Hi \u001b[2Jmallory\u202e,\n\tindented', html: '' })
  t.match(written[0], 'Hi \\u{1b}[2Jmallory\\u{202e},\n\tindented')
  t.notMatch(written[0], '\u001b')
})

t.test("the 'console' transport prints each mail to stderr and warns, in the log, that it is for development only", async (t) => {
  const { log, lines } = capturedLog()
  const mailer = createAccountMailer(resolveMailOptions({ transport: 'console', from: FROM, links: LINKS }), { productName: 'Example', log })
  t.teardown(mailer.close)
  const printed: string[] = []
  const write = process.stderr.write
  process.stderr.write = ((chunk: string) => { printed.push(chunk); return true }) as typeof process.stderr.write
  try {
    await mailer.send('passwordReset', 'alice@example.test', { username: 'alice', link: mailer.link('passwordReset', TOKEN), expiresInMinutes: 30 })
  } finally {
    process.stderr.write = write
  }
  t.equal(printed.length, 1)
  t.match(printed[0], `\n${mailer.link('passwordReset', TOKEN)}\n`)
  t.match(printed[0], 'Subject: Reset your Example password')
  t.same(lines, ["warn {\"mailTransport\":\"console\"} mail.transport is 'console': account mails, with their reset and verification links, are printed to stderr instead of sent. For development only."])
  t.notMatch(lines.join('\n'), TOKEN)
})
