// Asks for a reset link. The answer is the same whether or not an account has the address,
// so the page says the same either way: it must not tell a stranger who has an account.
import { call, describeFailure, say } from './api.js'

document.getElementById('forgot-form').addEventListener('submit', async (event) => {
  event.preventDefault()
  const email = new FormData(event.target).get('email').trim()
  const result = await call('POST', '/auth/password/forgot', { email })
  if (result.status === 202) {
    event.target.hidden = true
    say(`If an account has the address ${email}, a link to choose a new password is on its way. It works once, for a limited time.`)
  } else {
    say(describeFailure(result), true)
  }
})
