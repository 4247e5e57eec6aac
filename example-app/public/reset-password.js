// Opened from the mailed link: the token is in the fragment, which never reaches the server's
// logs or another site's Referer. The page takes it, wipes it from the address bar, and posts
// it with the new password.
import { call, describeFailure, say, takeTokenFromFragment } from './api.js'

const token = takeTokenFromFragment()
const form = document.getElementById('reset-form')

if (token === null) {
  say('This page needs the link from the password-reset mail: open the link from the mail, or ask for a new one.', true)
} else {
  form.hidden = false
}

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  const fields = new FormData(form)
  if (fields.get('new_password') !== fields.get('confirmation')) return say('The two passwords differ: type the same one twice.', true)
  const result = await call('POST', '/auth/password/reset', { token, new_password: fields.get('new_password') })
  if (result.status === 204 || result.status === 200) {
    form.hidden = true
    say('Your password is changed and every session of the account has ended. Sign in with the new password.')
    setTimeout(() => { window.location.assign('/') }, 2500)
  } else {
    say(describeFailure(result), true)
  }
})
