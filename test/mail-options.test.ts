import t from 'tap'
import { createAccountMailer, resolveMailOptions } from '../lib/mail/create-mailer.js'
import { capturedLog, FROM, LINKS, TOKEN } from './helpers/mail-log.js'

// The `mail` option, checked once at startup: every refusal names the option at fault and
// never repeats an SMTP password; what it accepts, and what the mailer says it will do.

const valid = { transport: 'smtp://mailer:secret-pw@mail.example.test:587', from: FROM, links: LINKS }

/** The option error, with its whole message. */
const refused = (message: string): { code: string, message: string } =>
  ({ code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: `fastify-token-auth: ${message}` })

const cases: Array<[string, unknown, string]> = [
  ['a mail option that is not an object', 'smtp://mail.example.test', 'mail must be an object'],
  ['a misspelt option', { ...valid, form: FROM }, 'mail.form is not an option; did you mean mail.from?'],
  ['no transport', { ...valid, transport: undefined }, "mail.transport must be an smtp:// or smtps:// URL, 'console', or an object with a send(message) function; got undefined"],
  ['a transport object without send', { ...valid, transport: { sendMail: () => {} } }, "mail.transport must be an smtp:// or smtps:// URL, 'console', or an object with a send(message) function; got an object"],
  ['a transport whose close is not a function', { ...valid, transport: { send: async () => {}, close: true } }, 'mail.transport.close must be a function when given'],
  ['a transport URL of another scheme', { ...valid, transport: 'http://mailer:secret-pw@mail.example.test' }, 'mail.transport must be an smtp:// or smtps:// URL; got http://…'],
  ['a transport string that is no URL', { ...valid, transport: 'consol' }, 'mail.transport is not a valid URL (expected smtp://user:password@host:port or smtps://…)'],
  ['no sender', { ...valid, from: undefined }, "mail.from must be the sender's address, alone or after a display name ('no-reply@example.com', 'Example <no-reply@example.com>'); got undefined"],
  ['a sender without an @', { ...valid, from: 'no-reply' }, "mail.from must be the sender's address, alone or after a display name ('no-reply@example.com', 'Example <no-reply@example.com>'); got \"no-reply\""],
  ['two senders', { ...valid, from: 'a@example.test, b@example.test' }, "mail.from must be the sender's address, alone or after a display name ('no-reply@example.com', 'Example <no-reply@example.com>'); got \"a@example.test, b@example.test\""],
  ['a sender with a line break', { ...valid, from: 'a@example.test\r\nBcc: x@example.test' }, "mail.from must be the sender's address, alone or after a display name ('no-reply@example.com', 'Example <no-reply@example.com>'); got a string of 35 characters"],
  ['a display name with an unquoted comma', { ...valid, from: 'Example, Inc <a@example.test>' }, "mail.from must be the sender's address, alone or after a display name ('no-reply@example.com', 'Example <no-reply@example.com>'); got \"Example, Inc <a@example.test>\""],
  ['no links', { ...valid, links: undefined }, 'mail.links is required: { passwordReset, emailVerification }, the URLs of your pages that read #token='],
  ['links that are not an object', { ...valid, links: 'https://app.example.test' }, 'mail.links must be an object'],
  ['a misspelt link', { ...valid, links: { ...LINKS, passwordRest: 'https://app.example.test/x' } }, 'mail.links.passwordRest is not an option; did you mean mail.links.passwordReset?'],
  ['a missing link', { ...valid, links: { passwordReset: LINKS.passwordReset } }, 'mail.links.emailVerification must be the absolute URL of your page; got undefined'],
  ['a relative link', { ...valid, links: { ...LINKS, passwordReset: '/reset-password' } }, 'mail.links.passwordReset must be an absolute URL, such as https://app.example.com/reset-password; got "/reset-password"'],
  ['a link with a fragment', { ...valid, links: { ...LINKS, passwordReset: 'https://app.example.test/#/reset' } }, "mail.links.passwordReset must not have a #fragment: the link's #token= goes there"],
  ['a link with an empty fragment', { ...valid, links: { ...LINKS, emailVerification: 'https://app.example.test/verify#' } }, "mail.links.emailVerification must not have a #fragment: the link's #token= goes there"],
  ['a link with credentials', { ...valid, links: { ...LINKS, passwordReset: 'https://user:pw@app.example.test/reset' } }, 'mail.links.passwordReset must not carry a user name or password'],
  ['a plain http link to another host', { ...valid, links: { ...LINKS, passwordReset: 'http://app.example.test/reset' } }, 'mail.links.passwordReset must be an https:// URL (plain http only to localhost, 127.0.0.1 or [::1], in development); got http://app.example.test'],
  ['a link of another scheme', { ...valid, links: { ...LINKS, emailVerification: 'javascript:alert(1)' } }, 'mail.links.emailVerification must be an https:// URL (plain http only to localhost, 127.0.0.1 or [::1], in development); got javascript://'],
  ['an empty product name', { ...valid, productName: ' ' }, 'mail.productName must be a non-empty line of at most 100 characters; got " "'],
  ['a product name of two lines', { ...valid, productName: 'A\nB' }, 'mail.productName must be a non-empty line of at most 100 characters; got "A\\nB"'],
  ['a product name too long', { ...valid, productName: 'x'.repeat(101) }, 'mail.productName must be a non-empty line of at most 100 characters; got a string of 101 characters'],
  ['a product name that is not a string', { ...valid, productName: 42 }, 'mail.productName must be a non-empty line of at most 100 characters; got 42'],
  ['templates that are not an object', { ...valid, templates: [] }, 'mail.templates must be an object'],
  ['a template of an unknown kind', { ...valid, templates: { passwordRest: () => ({}) } }, 'mail.templates.passwordRest is not an option; did you mean mail.templates.passwordReset?'],
  ['a template that is not a function', { ...valid, templates: { emailChanged: 'Your address changed' } }, 'mail.templates.emailChanged must be a function (context) => ({ subject, text, html }); got "Your address changed"']
]

for (const [name, options, message] of cases) {
  t.test(`the mail option refuses ${name}`, async (t) => {
    let error: Error | undefined
    try {
      resolveMailOptions(options)
    } catch (caught) {
      error = caught as Error
    }
    t.match(error, refused(message))
    t.equal(error?.message, `fastify-token-auth: ${message}`)
    t.notMatch(error?.message, 'secret-pw')
  })
}

t.test('the mail option accepts senders with and without a display name, and development links to this machine', async (t) => {
  for (const from of ['no-reply@example.test', 'Example <no-reply@example.test>', '"Example, Inc." <no-reply@example.test>', '<no-reply@example.test>', ' Example Support <no-reply@example.test> ']) {
    t.equal(resolveMailOptions({ ...valid, from }).from, from.trim(), from)
  }
  for (const host of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000']) {
    const links = { passwordReset: `http://${host}/reset`, emailVerification: `http://${host}/verify?lang=en` }
    t.same(resolveMailOptions({ ...valid, links }).links, links, host)
  }
})

t.test('the resolved options are frozen, keep only the templates given, and keep the application transport itself', async (t) => {
  const transport = { send: async () => {} }
  const passwordReset = (): { subject: string, text: string, html: string } => ({ subject: 's', text: 't', html: 'h' })
  const resolved = resolveMailOptions({ transport, from: FROM, links: { ...LINKS, emailVerification: 'https://APP.example.test/verify' }, productName: 'Example', templates: { passwordReset, emailChanged: undefined } })
  t.equal(resolved.transport, transport)
  t.same(resolved.templates, { passwordReset })
  t.equal(resolved.productName, 'Example')
  t.equal(resolved.links.emailVerification, 'https://app.example.test/verify', 'the URL as a browser spells it')
  t.ok(Object.isFrozen(resolved) && Object.isFrozen(resolved.links) && Object.isFrozen(resolved.templates))
  t.notOk('productName' in resolveMailOptions(valid), 'no product name: the mailer uses the realm')
})

t.test('a link puts the token, URL-encoded, in the fragment after the configured URL', async (t) => {
  const mailer = createAccountMailer(resolveMailOptions({ ...valid, transport: { send: async () => {} } }), { productName: 'Example', log: capturedLog().log })
  t.equal(mailer.link('passwordReset', TOKEN), `https://app.example.test/reset-password?lang=en&from=mail#token=${TOKEN}`)
  t.equal(mailer.link('emailVerification', 'a+b/c='), 'https://app.example.test/verify-email#token=a%2Bb%2Fc%3D')
})

t.test('the mailer says once which transport it uses, never with the SMTP password', async (t) => {
  const smtp = capturedLog()
  const mailer = createAccountMailer(resolveMailOptions(valid), { productName: 'Example', ...smtp })
  t.teardown(mailer.close)
  t.same(smtp.lines, ['info mail: sending through SMTP at smtp://mailer@mail.example.test:587, pooled'])
  const own = capturedLog()
  createAccountMailer(resolveMailOptions({ ...valid, transport: { send: async () => {} } }), { productName: 'Example', ...own })
  t.same(own.lines, ["info mail: sending through the application's transport"])
})

t.test('an application transport receives each message with the sender, and its failure rejects the send without the token', async (t) => {
  const received: unknown[] = []
  let failWith: unknown
  const closed: string[] = []
  const transport = {
    send: async (message: unknown) => {
      if (failWith !== undefined) throw failWith
      received.push(message)
    },
    close: async () => { closed.push('closed') }
  }
  const { log, lines } = capturedLog()
  const mailer = createAccountMailer(resolveMailOptions({ ...valid, transport, productName: 'Example' }), { productName: 'realm', log })
  const link = mailer.link('emailVerification', TOKEN)
  await mailer.send('emailVerification', 'ann@example.test', { username: 'ann', link })
  t.match(received, [{ from: FROM, to: 'ann@example.test', subject: 'Verify your email address for Example', text: new RegExp(link.replace(/[?.]/g, '\\$&')) }])

  failWith = new Error(`queue full while sending ${link}`)
  await t.rejects(mailer.send('emailVerification', 'ann@example.test', { username: 'ann', link }),
    { code: 'FST_TOKEN_AUTH_MAIL_NOT_SENT', message: 'The mail could not be sent: the transport failed: queue full while sending [link]' })
  failWith = 'offline'
  await t.rejects(mailer.send('passwordChanged', 'ann@example.test', { username: 'ann' }),
    { message: 'The mail could not be sent: the transport failed: offline' })
  await mailer.close()
  t.same(closed, ['closed'])
  t.notMatch(lines.join('\n'), TOKEN)

  // A transport without close needs none.
  await createAccountMailer(resolveMailOptions({ ...valid, transport: { send: async () => {} } }), { productName: 'Example', log }).close()
})
