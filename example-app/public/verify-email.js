// Opened from the mailed link: posts the token from the fragment (then wiped from the
// address bar) and says whether the address is now verified.
import { call, describeFailure, say, takeTokenFromFragment } from './api.js'

const token = takeTokenFromFragment()
const progress = document.getElementById('verify-progress')

async function verify () {
  if (token === null) {
    progress.textContent = ''
    return say('This page needs the link from the verification mail: open the link from the mail.', true)
  }
  const result = await call('POST', '/auth/email/verify', { token })
  progress.textContent = ''
  if (result.status === 204 || result.status === 200) say('Your email address is verified. Thank you!')
  else say(describeFailure(result), true)
}

verify().catch((error) => { say(`Cannot reach the server: ${error.message}`, true) })
