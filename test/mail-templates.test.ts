import t from 'tap'
import { defaultMailTemplates, type MailContext, type MailKind, type MailTemplate } from 'fastify-token-auth'
import { createAccountMailer, resolveMailOptions } from '../lib/mail/create-mailer.js'
import { capturedLog, FROM, LINKS, TOKEN } from './helpers/mail-log.js'
import { SmtpCatcher } from './helpers/smtp-catcher.js'

// The default account mails, as a user reads them, and templates of the application's own:
// what each says, that every value is escaped in HTML, and that a broken template fails
// its send instead of the process.

const LINK = `${LINKS.passwordReset}#token=${TOKEN}`
const base = { productName: 'Example', username: 'alice' }

const contexts: Record<MailKind, MailContext> = {
  passwordReset: { ...base, link: LINK, expiresInMinutes: 30 },
  emailVerification: { ...base, link: LINK, expiresInMinutes: 1440 },
  emailChangeRequested: { ...base, newEmail: 'new@example.test' },
  emailChanged: { ...base, newEmail: 'new@example.test' },
  passwordChanged: base
}

const subjects: Record<MailKind, string> = {
  passwordReset: 'Reset your Example password',
  emailVerification: 'Verify your email address for Example',
  emailChangeRequested: 'Your Example email address is being changed',
  emailChanged: 'Your Example email address was changed',
  passwordChanged: 'Your Example password was changed'
}

function mailer (templates?: Partial<Record<MailKind, MailTemplate>>, transport: unknown = { send: async () => {} }): ReturnType<typeof createAccountMailer> {
  return createAccountMailer(resolveMailOptions({ transport, from: FROM, links: LINKS, templates }), { productName: 'Example', log: capturedLog().log })
}

for (const kind of Object.keys(contexts) as MailKind[]) {
  t.test(`the ${kind} mail greets the user, names the product in its subject and signature, and has no token in its subject`, async (t) => {
    const mail = defaultMailTemplates[kind](contexts[kind])
    t.equal(mail.subject, subjects[kind])
    t.match(mail.text, /^Hi alice,\n\n/)
    t.match(mail.text, /\n\n— Example\n$/)
    t.match(mail.html, /^<!doctype html>/)
    t.match(mail.html, `<title>${subjects[kind]}</title>`)
    t.match(mail.html, '>Hi alice,</p>')
    t.notMatch(mail.subject, TOKEN)
    t.match(mail.text, 'If this was not you')
  })
}

for (const kind of ['passwordReset', 'emailVerification'] as const) {
  t.test(`the ${kind} mail carries its link on a line of its own, in a button and as text, with its expiry in minutes`, async (t) => {
    const mail = defaultMailTemplates[kind](contexts[kind])
    t.ok(mail.text.split('\n').includes(LINK))
    const escaped = LINK.replaceAll('&', '&amp;')
    t.equal(mail.html.split(`href="${escaped}"`).length, 3, 'the button and the text link')
    t.match(mail.html, `>${escaped}</a>`)
    t.match(mail.text, `expires in ${contexts[kind].expiresInMinutes ?? ''} minutes`)
  })
}

t.test('an expiry of one minute is said in the singular, and a link without one still says it works once', async (t) => {
  t.match(defaultMailTemplates.passwordReset({ ...contexts.passwordReset, expiresInMinutes: 1 }).text, 'The link works once and expires in 1 minute.')
  t.match(defaultMailTemplates.emailVerification({ ...contexts.emailVerification, expiresInMinutes: undefined }).text, /The link works once\.\n/)
})

t.test('the notices to the old address name the new one and tell a user who did not ask to reset their password and contact support', async (t) => {
  for (const kind of ['emailChangeRequested', 'emailChanged', 'passwordChanged'] as const) {
    const { text, html } = defaultMailTemplates[kind](contexts[kind])
    t.match(text, /If this was not you, .*reset your password.* contact support|If this was not you, contact support .* reset your password/, kind)
    if (kind !== 'passwordChanged') {
      t.match(text, 'new@example.test', kind)
      t.match(html, 'new@example.test', kind)
    }
  }
})

t.test('a default template given no link or no new address fails instead of mailing a blank', async (t) => {
  t.throws(() => defaultMailTemplates.passwordReset(base), new TypeError('the passwordReset mail needs a link'))
  t.throws(() => defaultMailTemplates.emailVerification({ ...base, link: '' }), new TypeError('the emailVerification mail needs a link'))
  t.throws(() => defaultMailTemplates.emailChanged(base), new TypeError('the emailChanged mail needs a newEmail'))
  t.throws(() => defaultMailTemplates.emailChangeRequested(base), new TypeError('the emailChangeRequested mail needs a newEmail'))
  await t.rejects(mailer().send('passwordReset', 'a@example.test', { username: 'a' }),
    { code: 'FST_TOKEN_AUTH_MAIL_NOT_SENT', message: 'The mail could not be sent: the passwordReset template threw: the passwordReset mail needs a link' })
})

t.test('every value is escaped in the HTML part, a hostile username and address included, as the mail arrives', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const hostile = '<script>alert("x")</script>&\'s'
  const options = resolveMailOptions({ transport: catcher.url, from: FROM, links: LINKS, productName: 'Ex "Ample" <b>' })
  const sender = createAccountMailer(options, { productName: 'unused', log: capturedLog().log })
  t.teardown(sender.close)
  await sender.send('emailChangeRequested', 'old@example.test', { username: hostile, newEmail: '"><img src=x onerror=alert(1)>@example.test' })
  const mail = await catcher.nextMessage('old@example.test')
  t.notMatch(mail.html, '<script>')
  t.notMatch(mail.html, '<img')
  t.notMatch(mail.html, '<b>')
  t.match(mail.html, 'Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;s,')
  t.match(mail.html, '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;@example.test')
  t.match(mail.html, 'Ex &quot;Ample&quot; &lt;b&gt;')
  t.match(mail.text, `Hi ${hostile},`, 'the text part shows the values as they are')
  t.equal(mail.subject, 'Your Ex "Ample" <b> email address is being changed')
})

t.test('a link that would break out of its attribute stays inside it', async (t) => {
  const { html } = defaultMailTemplates.passwordReset({ ...base, link: 'https://app.example.test/r#token=a"onmouseover="alert(1)' })
  t.notMatch(html, '"onmouseover')
  t.match(html, 'href="https://app.example.test/r#token=a&quot;onmouseover=&quot;alert(1)"')
})

t.test('an application template replaces its kind of mail, and the others stay the defaults', async (t) => {
  const catcher = await SmtpCatcher.start(t)
  const seen: MailContext[] = []
  const sender = createAccountMailer(resolveMailOptions({
    transport: catcher.url,
    from: FROM,
    links: LINKS,
    templates: {
      passwordReset: (context: MailContext) => {
        seen.push(context)
        return { subject: `Passwort für ${context.productName} zurücksetzen`, text: `Hallo ${context.username}:\n${context.link ?? ''}\n`, html: `<a href="${context.link ?? ''}">Neues Passwort</a>` }
      }
    }
  }), { productName: 'Example', log: capturedLog().log })
  t.teardown(sender.close)
  const link = sender.link('passwordReset', TOKEN)
  await sender.send('passwordReset', 'alice@example.test', { username: 'alice', link, expiresInMinutes: 15 })
  const custom = await catcher.nextMessage('alice@example.test')
  t.equal(custom.subject, 'Passwort für Example zurücksetzen')
  t.equal(custom.text, `Hallo alice:\n${link}\n`)
  t.match(custom.html, 'Neues Passwort')
  t.same(seen, [{ username: 'alice', link, expiresInMinutes: 15, productName: 'Example' }])
  await sender.send('passwordChanged', 'alice@example.test', { username: 'alice' })
  t.equal((await catcher.nextMessage('alice@example.test')).subject, 'Your Example password was changed')
})

t.test('the product name from the context cannot be overridden by a flow', async (t) => {
  const seen: string[] = []
  await mailer({ passwordChanged: (context) => { seen.push(context.productName); return defaultMailTemplates.passwordChanged(context) } })
    .send('passwordChanged', 'a@example.test', { username: 'a', productName: 'Phishy' } as unknown as MailContext)
  t.same(seen, ['Example'])
})

const brokenTemplates: Array<[string, MailTemplate, string]> = [
  ['returns nothing', () => undefined as unknown as ReturnType<MailTemplate>, 'must return'],
  ['returns a promise', (async () => ({ subject: 's', text: 't', html: 'h' })) as unknown as MailTemplate, 'must return'],
  ['returns no HTML part', () => ({ subject: 's', text: 't' }) as unknown as ReturnType<MailTemplate>, 'must return'],
  ['returns no text part', () => ({ subject: 's', html: 'h' }) as unknown as ReturnType<MailTemplate>, 'must return'],
  ['returns an empty subject', () => ({ subject: ' ', text: 't', html: 'h' }), 'must return'],
  ['returns a subject of two lines', () => ({ subject: 'a\r\nBcc: victim@example.test', text: 't', html: 'h' }), 'must return'],
  // A string thrown is the case under test: templates are the application's code.
  // eslint-disable-next-line no-throw-literal
  ['throws something that is not an error', () => { throw 'no' as unknown as Error }, 'threw: no']
]

for (const [name, template, reason] of brokenTemplates) {
  t.test(`a template that ${name} fails its send with a clear error, and nothing is sent`, async (t) => {
    const sent: unknown[] = []
    const sender = mailer({ passwordChanged: template }, { send: async (message: unknown) => { sent.push(message) } })
    await t.rejects(sender.send('passwordChanged', 'a@example.test', { username: 'a' }), {
      code: 'FST_TOKEN_AUTH_MAIL_NOT_SENT',
      message: reason === 'must return'
        ? 'The mail could not be sent: the passwordChanged template must return { subject, text, html } at once: strings, the subject one non-empty line'
        : `The mail could not be sent: the passwordChanged template ${reason}`
    })
    t.same(sent, [])
  })
}

t.test('a template that throws with the link in its message fails without the token in the error', async (t) => {
  const sender = mailer({ passwordReset: (context) => { throw new Error(`cannot render ${context.link ?? ''}`) } })
  const link = sender.link('passwordReset', TOKEN)
  const error = await sender.send('passwordReset', 'a@example.test', { username: 'a', link }).then(() => undefined, (error: unknown) => error as Error)
  t.equal(error?.message, 'The mail could not be sent: the passwordReset template threw: cannot render [link]')
  const tokenOnly = mailer({ passwordReset: () => { throw new Error(`bad token ${TOKEN}`) } })
  await t.rejects(tokenOnly.send('passwordReset', 'a@example.test', { username: 'a', link }), { message: /threw: bad token \[link\]$/ })
  const noToken = mailer({ passwordReset: (context) => { throw new Error(`cannot render ${context.link ?? ''}`) } })
  await t.rejects(noToken.send('passwordReset', 'a@example.test', { username: 'a', link: 'https://app.example.test/' }), { message: /threw: cannot render \[link\]$/ })
  await t.rejects(noToken.send('passwordReset', 'a@example.test', { username: 'a', link: noToken.link('passwordReset', '') }), { message: /threw: cannot render \[link\]$/ })
})
