// "Your sessions": every signed-in browser or client of the account, and a way to end any
// other one from here (a lost phone, a shared computer).
import { authenticatedCall, describeFailure, formatTime, say } from './api.js'
import { cell } from './table-cells.js'

export function sessionsPanel ({ onSignedOut }) {
  const list = document.getElementById('sessions-list')

  async function end (session) {
    const result = await authenticatedCall('DELETE', `/auth/sessions/${encodeURIComponent(session.id)}`)
    if (result.status === 204) {
      say('That session is signed out: its next request will find it ended.')
      await load()
    } else if (result.status === 401) {
      onSignedOut(describeFailure(result))
    } else {
      say(describeFailure(result), true)
    }
  }

  function row (session) {
    const tr = document.createElement('tr')
    tr.dataset.sessionId = session.id
    if (session.current) tr.className = 'current'
    tr.append(cell(formatTime(session.created_at)), cell(formatTime(session.last_used_at)), cell(session.client_address ?? '—'), cell(session.user_agent ?? '—', 'agent'))
    const action = document.createElement('td')
    if (session.current) {
      action.textContent = 'this device'
      action.className = 'this-device'
    } else {
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'secondary end-session'
      button.textContent = 'Sign out'
      button.addEventListener('click', () => { end(session) })
      action.append(button)
    }
    tr.append(action)
    return tr
  }

  async function load () {
    const result = await authenticatedCall('GET', '/auth/sessions')
    if (result.status === 401) return onSignedOut(describeFailure(result))
    if (result.status !== 200) return say(describeFailure(result), true)
    list.replaceChildren(...result.data.sessions.map(row))
  }

  document.getElementById('sessions-reload-button').addEventListener('click', () => { load() })
  return { load }
}
