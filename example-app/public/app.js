// The page uses the cookie transport: the browser sends the HttpOnly access cookie by
// itself, and every unsafe request echoes the readable CSRF cookie in a header.
'use strict'

// The server writes its cookie and header names into the page: with COOKIE_SECURE=false
// the cookie is `csrf-token`, otherwise `__Host-csrf-token`.
function serverSetting (name) {
  return document.querySelector(`meta[name="${name}"]`).content
}

const CSRF_COOKIE = serverSetting('csrf-cookie')
const CSRF_HEADER = serverSetting('csrf-header')
const views = { login: document.getElementById('login-view'), profile: document.getElementById('profile-view') }
const statusLine = document.getElementById('status')

function csrfToken () {
  const entry = document.cookie.split('; ').find((cookie) => cookie.startsWith(`${CSRF_COOKIE}=`))
  return entry === undefined ? '' : entry.slice(CSRF_COOKIE.length + 1)
}

function say (message, isError = false) {
  statusLine.textContent = message
  statusLine.className = isError ? 'error' : ''
}

async function call (method, path, body) {
  const headers = method === 'GET' ? {} : { [CSRF_HEADER]: csrfToken() }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  const data = response.status === 204 ? null : await response.json()
  return { status: response.status, data }
}

function show (view) {
  views.login.hidden = view !== 'login'
  views.profile.hidden = view !== 'profile'
}

function renderProfile (profile) {
  document.getElementById('profile-username').textContent = profile.username
  document.getElementById('profile-id').textContent = profile.id
  document.getElementById('profile-email').textContent = profile.email ?? '—'
  document.getElementById('profile-roles').textContent = profile.roles.length > 0 ? profile.roles.join(', ') : 'none'
  document.getElementById('profile-expires').textContent = new Date(profile.tokenExpiresAt * 1000).toLocaleTimeString()
  show('profile')
}

// A call that needs the access token: when it has expired, the refresh cookie renews it once.
async function authenticatedCall (method, path) {
  const first = await call(method, path)
  if (first.status !== 401) return first
  const refreshed = await call('POST', '/auth/refresh')
  return refreshed.status === 200 ? await call(method, path) : first
}

async function loadProfile () {
  const me = await authenticatedCall('GET', '/api/me')
  if (me.status === 200) {
    renderProfile(me.data)
    return true
  }
  show('login')
  return false
}

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  const result = await call('POST', '/auth/login', { username: form.get('username'), password: form.get('password') })
  if (result.status === 200) {
    event.target.reset()
    await loadProfile()
    say(`Signed in as ${result.data.user.username}.`)
  } else if (result.status === 429) {
    say('Too many failed attempts: wait a moment and try again.', true)
  } else {
    say('Wrong username or password.', true)
  }
})

document.getElementById('refresh-button').addEventListener('click', async () => {
  const result = await call('POST', '/auth/refresh')
  if (result.status === 200) {
    await loadProfile()
    say('New access and refresh tokens issued; the old refresh token is spent.')
  } else {
    show('login')
    say('The session has ended: please sign in again.', true)
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
