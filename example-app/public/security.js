// "Second factor": an authenticator app (TOTP), recovery codes and passkeys. The QR code and
// the key of a new enrollment, and new recovery codes, are shown once, in this page's memory
// only. Once the account has a second factor, changes need a session signed in with one.
import { authenticatedCall, describeFailure, formatTime, say } from './api.js'
import { button, cell, startRename } from './table-cells.js'
import { createPasskey, describePasskeyError, passkeysSupported } from './webauthn.js'

const MFA = '/auth/mfa'
const SIX_DIGITS = /^\d{6}$/

// RFC 8176 values, as a person would say them.
const METHOD_NAMES = { pwd: 'password', otp: 'one-time code', hwk: 'passkey', user: 'PIN or biometric on the device' }

/** The server's SVG as an image: an <img> never runs script or reaches the page. */
function svgDataUrl (svg) {
  const bytes = new TextEncoder().encode(svg)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `data:image/svg+xml;base64,${btoa(binary)}`
}

/** Recovery codes as a file the user keeps: a Blob, never a request carrying them. */
function download (codes, username) {
  const text = [`Recovery codes for ${username} (fastify-token-auth example)`, `Made ${new Date().toLocaleString()}. Each works once.`, '', ...codes, ''].join('\n')
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }))
  const link = document.createElement('a')
  link.href = url
  link.download = 'recovery-codes.txt'
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => { URL.revokeObjectURL(url) }, 1000)
}

export function securityPanel ({ onSignedOut }) {
  const sessionLine = document.getElementById('security-session')
  const passwordField = document.getElementById('security-password')
  const totpState = document.getElementById('totp-state')
  const beginButton = document.getElementById('totp-begin-button')
  const enrollment = document.getElementById('totp-enrollment')
  const qrImage = document.getElementById('totp-qr')
  const secretField = document.getElementById('totp-secret')
  const confirmForm = document.getElementById('totp-confirm-form')
  const disableForm = document.getElementById('totp-disable-form')
  const codesLeft = document.getElementById('recovery-codes-left')
  const regenerateButton = document.getElementById('recovery-codes-button')
  const codesBox = document.getElementById('recovery-codes')
  const codesList = document.getElementById('recovery-codes-list')
  const passkeyForm = document.getElementById('passkey-add-form')
  const passkeyList = document.getElementById('passkeys-list')
  let profile = null
  let shownCodes = []

  /** Takes what is shown once off the page: the enrollment's key, new recovery codes. */
  function forget () {
    qrImage.removeAttribute('src')
    secretField.textContent = ''
    enrollment.hidden = true
    confirmForm.reset()
    shownCodes = []
    codesList.replaceChildren()
    codesBox.hidden = true
    passwordField.value = ''
  }

  function failed (result) {
    if (result.status === 401 && result.data?.code !== 'FST_TOKEN_AUTH_INVALID_CREDENTIALS' && result.data?.code !== 'FST_TOKEN_AUTH_INVALID_MFA_CODE') return onSignedOut(describeFailure(result))
    say(describeFailure(result), true)
  }

  /** The password the changes below ask for, taken from its field (and cleared); null with a hint when empty. */
  function takePassword () {
    const password = passwordField.value
    passwordField.value = ''
    if (password === '') {
      say('Type your password in the field above first: changes to your factors ask for it.', true)
      passwordField.focus()
      return null
    }
    return password
  }

  function showCodes (codes) {
    shownCodes = codes
    codesList.replaceChildren(...codes.map((code) => {
      const item = document.createElement('li')
      item.textContent = code
      return item
    }))
    codesBox.hidden = false
  }

  function passkeyRow (passkey) {
    const tr = document.createElement('tr')
    tr.dataset.passkeyId = passkey.id
    const nameCell = cell(passkey.name, 'passkey-name')
    const actions = document.createElement('td')
    actions.className = 'key-actions'
    actions.append(
      button('Rename', 'secondary rename-passkey', () => { rename(passkey, nameCell) }),
      button('Remove', 'secondary remove-passkey', () => { remove(passkey) })
    )
    tr.append(nameCell, cell(formatTime(passkey.created_at)), cell(passkey.last_used_at === null ? 'never' : formatTime(passkey.last_used_at)), cell(passkey.backed_up ? 'synced' : 'this device only'), actions)
    return tr
  }

  function render (status) {
    totpState.textContent = status.totp === 'on' ? 'on' : status.totp === 'pending' ? 'set up, not confirmed' : 'off'
    totpState.className = status.totp === 'on' ? 'badge ok' : 'badge'
    beginButton.hidden = status.totp === 'on'
    disableForm.hidden = status.totp !== 'on'
    codesLeft.textContent = status.totp === 'off' && status.passkeys.length === 0
      ? 'Recovery codes come with your first second factor.'
      : `${status.recovery_codes_left} unused recovery code(s) left.`
    regenerateButton.hidden = status.totp !== 'on' && status.passkeys.length === 0
    if (status.passkeys.length > 0) {
      passkeyList.replaceChildren(...status.passkeys.map(passkeyRow))
    } else {
      const td = cell('No passkeys yet.')
      td.colSpan = 5
      const tr = document.createElement('tr')
      tr.append(td)
      passkeyList.replaceChildren(tr)
    }
  }

  async function load (signedInProfile = profile) {
    profile = signedInProfile
    const methods = (profile?.amr ?? []).filter((method) => method in METHOD_NAMES).map((method) => METHOD_NAMES[method])
    sessionLine.textContent = `This session signed in with: ${methods.length > 0 ? methods.join(' + ') : 'an unknown method'}.`
    const result = await authenticatedCall('GET', MFA)
    if (result.status !== 200) return failed(result)
    render(result.data)
  }

  beginButton.addEventListener('click', async () => {
    const password = takePassword()
    if (password === null) return
    const result = await authenticatedCall('POST', `${MFA}/totp`, { current_password: password })
    if (result.status !== 200) return failed(result)
    qrImage.src = svgDataUrl(result.data.qr_svg)
    secretField.textContent = result.data.secret
    enrollment.hidden = false
    confirmForm.querySelector('input').focus()
    say('Scan the QR code, then type the code your app shows.')
    await load()
  })

  confirmForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const code = new FormData(confirmForm).get('code').replace(/\s/g, '')
    const result = await authenticatedCall('POST', `${MFA}/totp/confirm`, { code })
    if (result.status !== 200) return failed(result)
    forget()
    if (result.data.recovery_codes !== undefined) showCodes(result.data.recovery_codes)
    say('The authenticator app is on: from now on, signing in asks for its code.')
    await load()
  })

  document.getElementById('totp-cancel-button').addEventListener('click', () => { forget() })

  disableForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const proof = new FormData(disableForm).get('proof').replace(/\s/g, '')
    const password = takePassword()
    if (password === null) return
    disableForm.reset()
    // Six digits are the app's code; anything else is tried as a recovery code.
    const body = SIX_DIGITS.test(proof) ? { current_password: password, code: proof } : { current_password: password, recovery_code: proof }
    const result = await authenticatedCall('POST', `${MFA}/totp/disable`, body)
    if (result.status !== 204) return failed(result)
    say('The authenticator app is off.')
    await load()
  })

  regenerateButton.addEventListener('click', async () => {
    const password = takePassword()
    if (password === null) return
    const result = await authenticatedCall('POST', `${MFA}/recovery-codes`, { current_password: password })
    if (result.status !== 200) return failed(result)
    showCodes(result.data.recovery_codes)
    say('New recovery codes: the old ones no longer work.')
    await load()
  })

  document.getElementById('recovery-codes-download-button').addEventListener('click', () => {
    download(shownCodes, profile?.username ?? '')
    say('Keep the file somewhere safe, away from this device.')
  })
  document.getElementById('recovery-codes-done-button').addEventListener('click', () => {
    shownCodes = []
    codesList.replaceChildren()
    codesBox.hidden = true
  })

  function rename (passkey, nameCell) {
    startRename(nameCell, passkey.name, {
      cancel: () => { load() },
      save: async (name) => {
        const result = await authenticatedCall('PATCH', `${MFA}/passkeys/${encodeURIComponent(passkey.id)}`, { name })
        if (result.status !== 200) return failed(result)
        say(`The passkey is now called “${result.data.name}”.`)
        await load()
      }
    })
  }

  async function remove (passkey) {
    const password = takePassword()
    if (password === null) return
    const result = await authenticatedCall('DELETE', `${MFA}/passkeys/${encodeURIComponent(passkey.id)}`, { current_password: password })
    if (result.status !== 204) return failed(result)
    say(`The passkey “${passkey.name}” is removed: it no longer signs you in.`)
    await load()
  }

  passkeyForm.hidden = !passkeysSupported()
  passkeyForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const name = new FormData(passkeyForm).get('name').trim()
    const password = takePassword()
    if (password === null) return
    const options = await authenticatedCall('POST', `${MFA}/passkeys/options`, { current_password: password })
    if (options.status !== 200) return failed(options)
    let response
    try {
      response = await createPasskey(options.data)
    } catch (error) {
      return say(describePasskeyError(error), true)
    }
    const result = await authenticatedCall('POST', `${MFA}/passkeys`, { name, response })
    if (result.status !== 201) return failed(result)
    passkeyForm.reset()
    if (result.data.recovery_codes !== undefined) showCodes(result.data.recovery_codes)
    say(`The passkey “${result.data.passkey.name}” is added: it signs you in without a password.`)
    await load()
  })

  return { load, forget }
}
