import { createServer, type AddressInfo, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { createSmtpTransport, MailNotSentError } from 'fastify-token-auth'
import { createAccountMailer, resolveMailOptions } from '../lib/mail/create-mailer.js'
import { smtpPoolOptions } from '../lib/mail/smtp-transport.js'
import { parseSmtpUrl } from '../lib/mail/smtp-url.js'
import { capturedLog, FROM, LINKS, TOKEN } from './helpers/mail-log.js'
import { SmtpCatcher } from './helpers/smtp-catcher.js'

// Account mails through nodemailer to a real SMTP server in this process: what arrives,
// how failures surface, and that neither a token nor the SMTP password leaks on the way.

const NOT_SENT = 'FST_TOKEN_AUTH_MAIL_NOT_SENT'

function mailerFor (t: Test, transport: string): { mailer: ReturnType<typeof createAccountMailer>, lines: string[] } {
  const { log, lines } = capturedLog()
  const mailer = createAccountMailer(resolveMailOptions({ transport, from: FROM, links: LINKS }), { productName: 'Example', log })
  t.teardown(mailer.close)
  return { mailer, lines }
}

/** The href of the mail's button, read back from the HTML as a browser would. */
function hrefs (html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1].replaceAll('&amp;', '&'))
}

/** A TCP server that accepts connections and never says a word, as a hung mail server. */
async function silentServer (t: Test): Promise<string> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('a reset mail arrives with its sender, recipient, subject, both parts, and the link intact in each', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const { mailer } = mailerFor(t, catcher.url)
  const link = mailer.link('passwordReset', TOKEN)
  t.equal(link, `${LINKS.passwordReset}#token=${TOKEN}`)
  await mailer.send('passwordReset', 'alice@example.test', { username: 'alice', link, expiresInMinutes: 30 })

  const mail = await catcher.nextMessage('alice@example.test')
  t.equal(mail.from, '"Example Support" <no-reply@example.test>')
  t.same(mail.envelope, { from: 'no-reply@example.test', to: ['alice@example.test'] })
  t.equal(mail.to, 'alice@example.test')
  t.equal(mail.subject, 'Reset your Example password')
  t.ok(mail.text.split(/\r?\n/).includes(link), 'the text part has the link on a line of its own')
  t.match(mail.text, /expires in 30 minutes/)
  t.same(hrefs(mail.html), [link, link], 'the button and the written-out link both open the link')
  t.match(mail.html, `>${link.replaceAll('&', '&amp;')}</a>`, 'the link is shown as text too')
  t.notMatch(mail.subject, TOKEN)
})

t.test('mails sent at once to several people each reach their own recipient through one pooled transport', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const { mailer } = mailerFor(t, catcher.url)
  await Promise.all(['ann', 'bob', 'cid'].map(async (name) => {
    await mailer.send('passwordChanged', `${name}@example.test`, { username: name })
  }))
  for (const name of ['cid', 'ann', 'bob']) {
    const mail = await catcher.nextMessage(`${name}@example.test`)
    t.match(mail.text, `Hi ${name},`)
  }
  t.equal(catcher.messages.length, 3)
})

t.test('the SMTP user name and password log in, and the password is in no log line', async (t) => {
  const password = 'pw:with/odd@chars'
  const catcher = await SmtpCatcher.start(t, { credentials: { user: 'mailer', pass: password } })
  const url = catcher.url.replace('smtp://', `smtp://mailer:${encodeURIComponent(password)}@`)
  const { mailer, lines } = mailerFor(t, url)
  await mailer.send('emailVerification', 'bob@example.test', { username: 'bob', link: mailer.link('emailVerification', TOKEN) })
  await catcher.nextMessage('bob@example.test')
  t.same(catcher.logins, ['mailer'])
  t.same(lines, [`info mail: sending through SMTP at smtp://mailer@${catcher.url.slice('smtp://'.length)}, pooled`])
  t.notMatch(lines.join('\n'), password)
  t.notMatch(lines.join('\n'), encodeURIComponent(password))
})

t.test('a wrong SMTP password fails the send with an error that does not repeat it', async (t) => {
  const catcher = await SmtpCatcher.start(t, { credentials: { user: 'mailer', pass: 'right-password' } })
  const wrong = 'wrong-password'
  const transport = createSmtpTransport(catcher.url.replace('smtp://', `smtp://mailer:${wrong}@`))
  t.teardown(transport.close)
  const error = await transport.send({ from: FROM, to: 'carol@example.test', subject: 'Hello', text: 'Hello', html: '<p>Hello</p>' }).then(() => undefined, (error: unknown) => error as Error)
  t.match(error, { code: NOT_SENT, message: /EAUTH/ })
  t.ok(error instanceof MailNotSentError)
  t.notMatch(JSON.stringify({ ...error, message: error?.message, stack: error?.stack }), wrong)
  t.same(catcher.messages, [])
})

t.test('a server that refuses the recipient fails the send, and the error holds neither the token nor the password', async (t) => {
  const catcher = await SmtpCatcher.start(t, { refuseRecipient: (address) => address === 'gone@example.test' })
  const password = 'the-smtp-password'
  const { mailer, lines } = mailerFor(t, catcher.url.replace('smtp://', `smtp://mailer:${password}@`))
  const link = mailer.link('passwordReset', TOKEN)
  const error = await mailer.send('passwordReset', 'gone@example.test', { username: 'gone', link }).then(() => undefined, (error: unknown) => error as Error)
  t.match(error, { code: NOT_SENT, statusCode: 503, message: /EENVELOPE .*550 5\.1\.1 <gone@example\.test>: no such mailbox/ })
  const everything = JSON.stringify({ ...error, message: error?.message, stack: error?.stack })
  t.notMatch(everything, TOKEN)
  t.notMatch(everything, password)
  t.notMatch(lines.join('\n'), TOKEN)
  t.notMatch(lines.join('\n'), password)
  t.same(catcher.messages, [])
})

t.test('a server that accepts the connection but never greets fails the send within the greeting timeout', async (t) => {
  const url = await silentServer(t)
  const transport = createSmtpTransport(url, { greetingTimeoutMs: 200 })
  t.teardown(transport.close)
  const started = process.hrtime.bigint()
  await t.rejects(transport.send({ from: FROM, to: 'dave@example.test', subject: 'Hello', text: 'Hello', html: '<p>Hello</p>' }),
    { code: NOT_SENT, message: /ETIMEDOUT Greeting never received/ })
  // Far above the 200 ms asked for, far below nodemailer's own 30 s default.
  t.ok(Number(process.hrtime.bigint() - started) / 1e6 < 5000, 'the send gave up within seconds')
})

t.test('requireTLS=true refuses a server that offers no STARTTLS instead of sending in the clear', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const transport = createSmtpTransport(`${catcher.url}?requireTLS=true`)
  t.teardown(transport.close)
  await t.rejects(transport.send({ from: FROM, to: 'erin@example.test', subject: 'Hello', text: 'Hello', html: '<p>Hello</p>' }), { code: NOT_SENT })
  t.same(catcher.messages, [])
})

t.test('a closed transport refuses further mails', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const { mailer } = mailerFor(t, catcher.url)
  await mailer.close()
  await t.rejects(mailer.send('passwordChanged', 'fay@example.test', { username: 'fay' }), { code: NOT_SENT, message: /pool was closed/ })
})

t.test('the connection is pooled and every wait is bounded by default, over TLS to any host but this one', async (t) => {
  const options = smtpPoolOptions(parseSmtpUrl('smtp://mailer:p%40ss@mail.example.test:587', 'url'))
  t.match(options, {
    pool: true,
    host: 'mail.example.test',
    port: 587,
    secure: false,
    requireTLS: true,
    auth: { user: 'mailer', pass: 'p@ss' },
    connectionTimeout: 10_000,
    dnsTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    maxRequeues: 2,
    disableFileAccess: true,
    disableUrlAccess: true
  })
  t.match(smtpPoolOptions(parseSmtpUrl('smtps://mail.example.test', 'url')), { secure: true, requireTLS: false, port: undefined, auth: undefined })
  t.match(smtpPoolOptions(parseSmtpUrl('smtp://mail.example.test?requireTLS=false', 'url')), { requireTLS: false })
  t.match(smtpPoolOptions(parseSmtpUrl('smtp://[::1]:2525', 'url')), { host: '::1', port: 2525, requireTLS: false })
  t.match(smtpPoolOptions(parseSmtpUrl('smtp://localhost:1025?requireTLS=true', 'url')), { requireTLS: true })
  t.equal(parseSmtpUrl('smtp://mailer:secret@mail.example.test:587', 'url').description, 'smtp://mailer@mail.example.test:587')
  t.match(smtpPoolOptions(parseSmtpUrl('smtp://localhost', 'url'), { connectionTimeoutMs: 50, greetingTimeoutMs: 60, socketTimeoutMs: 70 }),
    { connectionTimeout: 50, dnsTimeout: 50, greetingTimeout: 60, socketTimeout: 70 })
})

const badTransportUrls: Array<[string, unknown, RegExp]> = [
  ['a value that is not a string', 25, /url must be an smtp:\/\/ or smtps:\/\/ URL string$/],
  ['a string that is no URL', 'smtp://mailer:secret-pw@mail.example.test:99999', /url is not a valid URL \(expected smtp:\/\/user:password@host:port or smtps:\/\/…\)$/],
  ['another scheme', 'https://mailer:secret-pw@mail.example.test', /url must be an smtp:\/\/ or smtps:\/\/ URL; got https:\/\/…$/],
  ['no host', 'smtp:secret-pw', /url has no host$/],
  ['a path', 'smtp://mailer:secret-pw@mail.example.test/inbox', /url must not have a path$/],
  ['a fragment', 'smtp://mailer:secret-pw@mail.example.test#x', /url must not have a #fragment$/],
  ['an unknown query parameter', 'smtp://mailer:secret-pw@mail.example.test?tls.rejectUnauthorized=false', /url may only carry the query parameter requireTLS \(true or false\); pass your own transport for other settings$/],
  ['a requireTLS that is no boolean', 'smtp://mailer:secret-pw@mail.example.test?requireTLS=yes', /url's requireTLS must be true or false$/],
  ['a badly encoded password', 'smtp://mailer:secret-pw%E0%A4%A@mail.example.test', /url has a badly percent-encoded user name or password$/]
]

for (const [name, url, message] of badTransportUrls) {
  t.test(`createSmtpTransport refuses ${name}, without repeating the password`, async (t) => {
    let error: Error | undefined
    try {
      createSmtpTransport(url as string)
    } catch (caught) {
      error = caught as Error
    }
    t.match(error, { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message })
    t.notMatch(error?.message, 'secret-pw')
  })
}

const badTimeouts: Array<[keyof NonNullable<Parameters<typeof createSmtpTransport>[1]>, unknown]> = [
  ['connectionTimeoutMs', 0], ['greetingTimeoutMs', 1.5], ['socketTimeoutMs', 300_001]
]

for (const [option, value] of badTimeouts) {
  t.test(`createSmtpTransport refuses ${option}: ${String(value)}`, async (t) => {
    t.throws(() => createSmtpTransport('smtp://localhost', { [option]: value }),
      { code: 'FST_TOKEN_AUTH_INVALID_OPTION', message: `fastify-token-auth: createSmtpTransport ${option} must be an integer from 1 to 300000; got ${String(value)}` })
  })
}

t.test('the catcher hands each mail out once, and gives up on one that never comes', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const transport = createSmtpTransport(catcher.url)
  t.teardown(transport.close)
  const waiting = catcher.nextMessage('gil@example.test')
  await transport.send({ from: FROM, to: 'gil@example.test', subject: 'One', text: 'One', html: '<p>One</p>' })
  t.equal((await waiting).subject, 'One')
  await t.rejects(catcher.nextMessage('gil@example.test', { timeoutMs: 50 }), { message: 'no mail to gil@example.test within 50 ms; received: gil@example.test: One' })
})
