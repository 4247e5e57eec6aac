// The second step of a sign-in, and signing in with a passkey alone. After a right password,
// a user with a second factor gets no session but a short-lived mfa_token: it stays in this
// page's memory only, and the session comes when the code, recovery code or passkey is right.
import { call, describeFailure, say } from './api.js'
import { describePasskeyError, passkeysSupported, signWithPasskey } from './webauthn.js'

export function signIn ({ onSignedIn, onCancelled }) {
  const codeForm = document.getElementById('mfa-code-form')
  const recoveryForm = document.getElementById('mfa-recovery-form')
  const passkeyButton = document.getElementById('mfa-passkey-button')
  const useRecoveryButton = document.getElementById('mfa-use-recovery-button')
  const passkeyLoginButton = document.getElementById('passkey-login-button')
  let pending = null

  function forget () {
    pending = null
    codeForm.reset()
    recoveryForm.reset()
  }

  /** The password was right: ask for what the user has, the app's code first. */
  function start (answer) {
    forget()
    pending = { token: answer.mfa_token, methods: answer.methods }
    const has = (method) => answer.methods.includes(method)
    codeForm.hidden = !has('totp')
    recoveryForm.hidden = has('totp') || !has('recovery_code')
    useRecoveryButton.hidden = !has('totp') || !has('recovery_code')
    passkeyButton.hidden = !has('passkey') || !passkeysSupported()
    say('Your password is right: now the second step.')
    ;(codeForm.hidden ? recoveryForm : codeForm).querySelector('input')?.focus()
  }

  async function finish (proof) {
    if (pending === null) return
    const result = await call('POST', '/auth/login/mfa', { mfa_token: pending.token, ...proof })
    if (result.status === 200) {
      forget()
      return await onSignedIn(result.data.user.username)
    }
    // Expired, or refused after too many tries: the password step starts again.
    if (result.data?.code === 'FST_TOKEN_AUTH_INVALID_MFA_CHALLENGE') {
      forget()
      return onCancelled(describeFailure(result))
    }
    say(describeFailure(result), true)
  }

  codeForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const code = new FormData(codeForm).get('code').replace(/\s/g, '')
    codeForm.reset()
    await finish({ code })
  })

  recoveryForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const recoveryCode = new FormData(recoveryForm).get('recovery_code').trim()
    recoveryForm.reset()
    await finish({ recovery_code: recoveryCode })
  })

  useRecoveryButton.addEventListener('click', () => {
    codeForm.hidden = true
    useRecoveryButton.hidden = true
    recoveryForm.hidden = false
    recoveryForm.querySelector('input').focus()
  })

  passkeyButton.addEventListener('click', async () => {
    if (pending === null) return
    const options = await call('POST', '/auth/login/mfa/passkey-options', { mfa_token: pending.token })
    if (options.status !== 200) return say(describeFailure(options), true)
    let passkey
    try {
      passkey = await signWithPasskey(options.data)
    } catch (error) {
      return say(describePasskeyError(error), true)
    }
    await finish({ passkey })
  })

  document.getElementById('mfa-cancel-button').addEventListener('click', () => {
    forget()
    onCancelled('Sign-in cancelled.')
  })

  // A passkey alone: the device checks the PIN or fingerprint, so no password is asked.
  passkeyLoginButton.hidden = !passkeysSupported()
  passkeyLoginButton.addEventListener('click', async () => {
    const options = await call('POST', '/auth/login/passkey/options', {})
    if (options.status !== 200) return say(describeFailure(options), true)
    let response
    try {
      response = await signWithPasskey(options.data)
    } catch (error) {
      return say(describePasskeyError(error), true)
    }
    const result = await call('POST', '/auth/login/passkey', { response })
    if (result.status === 200) return await onSignedIn(result.data.user.username)
    say(describeFailure(result), true)
  })

  return { start, forget }
}
