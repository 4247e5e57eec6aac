/**
 * The mail port: what the account flows send (a reset link, a verification link, a notice
 * to the old address), and how. The flows name a kind of mail and its context; the
 * templates turn that into a message; a transport delivers it.
 */

/** One message, both parts: a plain-text one every client shows, and HTML. */
export interface MailMessage {
  to: string
  subject: string
  text: string
  html: string
}

/** Delivers messages: nodemailer over SMTP by default, or the application's own. */
export interface MailTransport {
  send: (message: MailMessage & { from: string }) => Promise<void>
  /** Releases connections (a pool) when the app closes. */
  close?: (() => Promise<void>) | undefined
}

/** The mails the account flows send. */
export type MailKind =
  /** The forgotten-password link. */
  | 'passwordReset'
  /** The link proving an address: the user's own, or the new one of an email change. */
  | 'emailVerification'
  /** To the old address: someone asked to change the account's email to `newEmail`. */
  | 'emailChangeRequested'
  /** To the old address: the account's email is now `newEmail`. */
  | 'emailChanged'
  /** The password was changed or reset: if it was not the user, they know at once. */
  | 'passwordChanged'

/** What a template may use. Values are plain text: templates escape them for HTML. */
export interface MailContext {
  /** The product name from the options, for subjects and greetings. */
  productName: string
  username: string
  /** The link with its single-use token (passwordReset, emailVerification). */
  link?: string | undefined
  /** Minutes until the link expires (passwordReset, emailVerification). */
  expiresInMinutes?: number | undefined
  /** The new address (emailChangeRequested, emailChanged). */
  newEmail?: string | undefined
}

/** Subject and both parts of one kind of mail. */
export type MailTemplate = (context: MailContext) => Omit<MailMessage, 'to'>

export type MailTemplates = Record<MailKind, MailTemplate>

/** The pages a mailed link opens; the token goes in the fragment (`#token=…`), never the query. */
export type MailLinkKind = 'passwordReset' | 'emailVerification'

/** What the account flows hold: send a kind of mail, and make the link for a token. */
export interface AccountMailer {
  send: (kind: MailKind, to: string, context: Omit<MailContext, 'productName'>) => Promise<void>
  link: (kind: MailLinkKind, token: string) => string
  close: () => Promise<void>
}

/** The `mail` option. */
export interface MailOptions {
  /**
   * An SMTP URL (`smtp://user:pass@host:587`, `smtps://…:465`) sent through nodemailer, a
   * MailTransport of your own, or `'console'`: the development transport, which prints each
   * mail (link included) to stderr instead of sending it.
   */
  transport: string | MailTransport
  /** The sender, e.g. `Example <no-reply@example.com>`. */
  from: string
  /** Absolute URLs of your pages that read `#token=` and post it. */
  links: Record<MailLinkKind, string>
  /** In subjects and greetings. Default: the realm. */
  productName?: string | undefined
  /** Replace any template; the others stay the defaults. */
  templates?: Partial<MailTemplates> | undefined
}
