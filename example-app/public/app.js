// The page uses the cookie transport: the browser sends the HttpOnly access cookie by
// itself, and every unsafe request echoes the readable CSRF cookie in a header (api.js).
import { adminPanel } from './admin.js'
import { apiKeysPanel } from './api-keys.js'
import { authenticatedCall, call, describeFailure, say } from './api.js'
import { securityPanel } from './security.js'
import { sessionsPanel } from './sessions.js'
import { signIn } from './sign-in.js'

const views = { login: document.getElementById('login-view'), mfa: document.getElementById('mfa-view'), profile: document.getElementById('profile-view') }
const sessions = sessionsPanel({ onSignedOut: signedOut })
const apiKeys = apiKeysPanel({ onSignedOut: signedOut })
const security = securityPanel({ onSignedOut: signedOut })
const admin = adminPanel()
const secondStep = signIn({ onSignedIn: signedIn, onCancelled: signedOut })
const resendForm = document.getElementById('resend-verification-form')
let profile

function show (view) {
  // A new API key or recovery codes shown once leave the page with the session.
  if (view !== 'profile') {
    apiKeys.forget()
    security.forget()
  }
  if (view !== 'mfa') secondStep.forget()
  for (const [name, element] of Object.entries(views)) element.hidden = name !== view
}

function signedOut (message) {
  show('login')
  say(message, true)
}

function renderProfile () {
  const verified = profile.emailVerifiedAt !== null && profile.emailVerifiedAt !== undefined
  document.getElementById('profile-username').textContent = profile.username
  document.getElementById('profile-id').textContent = profile.id
  document.getElementById('profile-email').textContent = profile.email ?? '—'
  const state = document.getElementById('profile-email-state')
  state.textContent = profile.email === null ? '' : verified ? 'verified' : 'not verified'
  state.className = verified ? 'badge ok' : 'badge'
  document.getElementById('verify-prompt').hidden = profile.email === null || verified
  document.getElementById('profile-roles').textContent = profile.roles.length > 0 ? profile.roles.join(', ') : 'none'
  document.getElementById('profile-expires').textContent = new Date(profile.tokenExpiresAt * 1000).toLocaleTimeString()
  show('profile')
}

async function loadProfile () {
  const me = await authenticatedCall('GET', '/api/me')
  if (me.status !== 200) {
    show('login')
    return false
  }
  profile = me.data
  renderProfile()
  await sessions.load()
  await apiKeys.load()
  await security.load(profile)
  await admin.showFor(profile.roles)
  return true
}

async function signedIn (username) {
  resendForm.hidden = true
  await loadProfile()
  say(`Signed in as ${username}.`)
}

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  const result = await call('POST', '/auth/login', { username: form.get('username'), password: form.get('password') })
  if (result.status === 200) {
    event.target.reset()
    // The password was right, and the account has a second factor: no session until it is used.
    if (result.data.mfa_required === true) {
      show('mfa')
      return secondStep.start(result.data)
    }
    await signedIn(result.data.user.username)
  } else {
    // Only the right password earns this answer, so it tells no stranger about the account.
    resendForm.hidden = result.data?.code !== 'FST_TOKEN_AUTH_EMAIL_NOT_VERIFIED'
    say(describeFailure(result), true)
  }
})

async function requestVerificationMail (email) {
  const result = await call('POST', '/auth/email/verification', { email })
  if (result.status === 202) say(`If ${email} awaits verification, a link is on its way to it: open it in this browser.`)
  else say(describeFailure(result), true)
}

resendForm.addEventListener('submit', async (event) => {
  event.preventDefault()
  await requestVerificationMail(new FormData(event.target).get('email').trim())
})

document.getElementById('send-verification-button').addEventListener('click', async () => { await requestVerificationMail(profile.email) })

document.getElementById('refresh-button').addEventListener('click', async () => {
  const result = await call('POST', '/auth/refresh')
  if (result.status === 200) {
    await loadProfile()
    say('New access and refresh tokens issued; the old refresh token is spent.')
  } else {
    signedOut('The session has ended: please sign in again.')
  }
})

document.getElementById('admin-button').addEventListener('click', async () => {
  const result = await authenticatedCall('GET', '/api/admin')
  if (result.status === 200) say(result.data.message)
  else if (result.status === 403) say('Your account does not have the admin role.', true)
  else await loadProfile()
})

document.getElementById('logout-button').addEventListener('click', async () => {
  await call('POST', '/auth/logout')
  show('login')
  say('Signed out: this session is revoked on the server.')
})

document.getElementById('logout-all-button').addEventListener('click', async () => {
  await authenticatedCall('POST', '/auth/logout-all')
  show('login')
  say('Signed out everywhere: every session of this account is revoked.')
})

loadProfile().catch((error) => { say(`Cannot reach the server: ${error.message}`, true) })
