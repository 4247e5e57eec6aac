// The admin panel: a page of users at a time (by username), a search on username or email,
// and an unlock for an account locked out by failed logins. Shown for the admin role only;
// the server checks the role on every call all the same.
import { authenticatedCall, describeFailure, say } from './api.js'
import { cell, emptyRow } from './table-cells.js'

const ADMIN_API = '/api/admin'
const PAGE_SIZE = 20

// What an event says beyond who and where: why a login failed, how a session signed in…
function auditDetails (event) {
  return [event.reason, event.cause, event.authMethods?.join(' '), event.methods?.join(' '), event.keyId ?? event.passkeyId].filter(Boolean).join(', ')
}

function auditRow (event) {
  const tr = document.createElement('tr')
  tr.append(cell(new Date(event.at).toLocaleString()), cell(event.type), cell(event.username ?? event.userId ?? '—'), cell(event.address ?? '—'), cell(auditDetails(event)))
  return tr
}

export function adminPanel () {
  const panel = document.getElementById('admin-panel')
  const list = document.getElementById('users-list')
  const nextButton = document.getElementById('users-next-button')
  const auditTable = document.getElementById('audit-table')
  const auditList = document.getElementById('audit-list')
  let search = ''
  let next = null

  async function unlock (user) {
    const result = await authenticatedCall('POST', `${ADMIN_API}/users/${encodeURIComponent(user.id)}/unlock`)
    if (result.status === 204 || result.status === 200) say(`${user.username} may try to sign in again at once.`)
    else say(describeFailure(result), true)
  }

  function row (user) {
    const tr = document.createElement('tr')
    tr.dataset.username = user.username
    const state = [user.disabled ? 'disabled' : 'active', user.email !== null && user.email_verified_at === null ? 'email not verified' : ''].filter(Boolean).join(', ')
    tr.append(cell(user.username), cell(user.email ?? '—'), cell(user.roles.join(', ') || 'none'), cell(state))
    const action = document.createElement('td')
    const button = document.createElement('button')
    button.type = 'button'
    button.className = 'secondary unlock'
    button.textContent = 'Unlock'
    button.title = 'Forget the failed sign-ins that lock this account out'
    button.addEventListener('click', () => { unlock(user) })
    action.append(button)
    tr.append(action)
    return tr
  }

  async function loadPage (after) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) })
    if (search !== '') query.set('search', search)
    if (after !== null) query.set('after', after)
    const result = await authenticatedCall('GET', `${ADMIN_API}/users?${query}`)
    if (result.status !== 200) return say(describeFailure(result), true)
    list.replaceChildren(...result.data.users.map(row))
    if (result.data.users.length === 0) list.replaceChildren(emptyRow(search === '' ? 'No users yet.' : `No username or email contains “${search}”.`, 5))
    next = result.data.next ?? null
    nextButton.hidden = next === null
  }

  document.getElementById('user-search-form').addEventListener('submit', (event) => {
    event.preventDefault()
    search = new FormData(event.target).get('search').trim()
    loadPage(null)
  })
  nextButton.addEventListener('click', () => { loadPage(next) })

  // The server asks for a session signed in with a second factor: a password alone gets 403.
  document.getElementById('audit-button').addEventListener('click', async () => {
    const result = await authenticatedCall('GET', `${ADMIN_API}/audit`)
    if (result.status !== 200) return say(describeFailure(result), true)
    auditList.replaceChildren(...result.data.events.map(auditRow))
    auditTable.hidden = false
    say(`${result.data.events.length} recent event(s).`)
  })

  return {
    async showFor (roles) {
      panel.hidden = !roles.includes('admin')
      if (!panel.hidden) await loadPage(null)
    }
  }
}
