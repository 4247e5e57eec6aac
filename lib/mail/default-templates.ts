import type { MailContext, MailKind, MailTemplates } from './mail-port.js'
import { renderMail } from './mail-layout.js'

/** A value the kind of mail cannot do without: a flow that forgot it is a bug, not a blank in a mail. */
function required (context: MailContext, field: 'link' | 'newEmail', kind: MailKind): string {
  const value = context[field]
  if (typeof value !== 'string' || value === '') throw new TypeError(`the ${kind} mail needs a ${field}`)
  return value
}

function expiry (context: MailContext): string[] {
  const minutes = context.expiresInMinutes
  if (minutes === undefined) return ['The link works once.']
  return [`The link works once and expires in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`]
}

/**
 * The account mails as GitHub or Stripe write them: what happened, the one thing to do,
 * and what to do if it was not you. Subjects name the product, never a link or a token.
 */
export const defaultMailTemplates: MailTemplates = Object.freeze({
  passwordReset: (context) => renderMail(`Reset your ${context.productName} password`, context.productName, context.username, [
    `Someone asked to reset the password of your ${context.productName} account. To choose a new password, open this link:`,
    { button: 'Choose a new password', href: required(context, 'link', 'passwordReset') },
    ...expiry(context),
    'If this was not you, ignore this mail: your password stays as it is, and nobody can change it without this link.'
  ]),

  emailVerification: (context) => renderMail(`Verify your email address for ${context.productName}`, context.productName, context.username, [
    `To confirm that this address belongs to your ${context.productName} account, open this link:`,
    { button: 'Verify email address', href: required(context, 'link', 'emailVerification') },
    ...expiry(context),
    'If this was not you, ignore this mail: the address will not be added to any account.'
  ]),

  emailChangeRequested: (context) => renderMail(`Your ${context.productName} email address is being changed`, context.productName, context.username, [
    `Someone asked to change the email address of your ${context.productName} account to ${required(context, 'newEmail', 'emailChangeRequested')}. ` +
      'The change happens once the new address is verified.',
    'If this was not you, reset your password now and contact support: someone else may be signed in to your account.'
  ]),

  emailChanged: (context) => renderMail(`Your ${context.productName} email address was changed`, context.productName, context.username, [
    `The email address of your ${context.productName} account is now ${required(context, 'newEmail', 'emailChanged')}. ` +
      'Account mail, password resets included, goes to the new address from now on.',
    'If this was not you, contact support at once and reset your password: someone else may control your account.'
  ]),

  passwordChanged: (context) => renderMail(`Your ${context.productName} password was changed`, context.productName, context.username, [
    `The password of your ${context.productName} account was just changed.`,
    'If this was not you, reset your password now and contact support: someone else may know it.'
  ])
})
