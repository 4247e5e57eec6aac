// "API keys": keys for scripts and other programs, each limited to the scopes ticked when it
// was made. A new key is shown once, in this page's memory only: never put in localStorage,
// sessionStorage, a cookie or the address bar, and gone from the page once copied.
import { authenticatedCall, describeFailure, formatTime, say } from './api.js'
import { button, cell, emptyRow, startRename } from './table-cells.js'

const API_KEYS = '/auth/api-keys'

function expiry (key) {
  if (key.expires_at === null) return 'never'
  const when = formatTime(key.expires_at)
  return key.expires_at * 1000 <= Date.now() ? `${when} (expired)` : when
}

export function apiKeysPanel ({ onSignedOut }) {
  const form = document.getElementById('api-key-form')
  const scopeBoxes = document.getElementById('api-key-scopes')
  const created = document.getElementById('api-key-created')
  const keyField = document.getElementById('api-key-value')
  const list = document.getElementById('api-keys-list')
  let keys = []

  /** Takes the new key off the page: after copying, when another one is made, at sign-out. */
  function forget () {
    keyField.value = ''
    created.hidden = true
  }

  function show (key) {
    keyField.value = key
    created.hidden = false
    keyField.focus()
    keyField.select()
  }

  // A failed call: the session may have ended (back to sign-in), or the server says why.
  function failed (result) {
    if (result.status === 401) onSignedOut(describeFailure(result))
    else say(describeFailure(result), true)
  }

  function renderScopes (grantable) {
    const ticked = new Set(Array.from(scopeBoxes.querySelectorAll('input:checked'), (box) => box.value))
    const boxes = grantable.map((scope) => {
      const label = document.createElement('label')
      label.className = 'checkbox'
      const box = document.createElement('input')
      box.type = 'checkbox'
      box.name = 'scopes'
      box.value = scope
      box.checked = ticked.has(scope)
      label.append(box, ` ${scope}`)
      return label
    })
    scopeBoxes.replaceChildren(scopeBoxes.querySelector('legend'), ...boxes)
  }

  function rename (key, nameCell) {
    startRename(nameCell, key.name, {
      cancel: () => { render() },
      save: async (name) => {
        const result = await authenticatedCall('PATCH', `${API_KEYS}/${encodeURIComponent(key.id)}`, { name })
        if (result.status === 200) {
          say(`The key is now called “${result.data.name}”.`)
          await load()
        } else {
          failed(result)
        }
      }
    })
  }

  async function revoke (key) {
    const result = await authenticatedCall('DELETE', `${API_KEYS}/${encodeURIComponent(key.id)}`)
    if (result.status === 401) return failed(result)
    if (result.status === 204) say(`The key “${key.name}” is revoked: programs using it are refused from now on.`)
    else say(describeFailure(result), true)
    await load()
  }

  function row (key) {
    const tr = document.createElement('tr')
    tr.dataset.keyId = key.id
    const nameCell = cell(key.name, 'key-name')
    const actions = document.createElement('td')
    actions.className = 'key-actions'
    actions.append(
      button('Rename', 'secondary rename-key', () => { rename(key, nameCell) }),
      button('Revoke', 'secondary revoke-key', () => { revoke(key) })
    )
    tr.append(
      nameCell,
      cell(`${key.start}…`, 'key-start'),
      cell(key.scopes.length > 0 ? key.scopes.join(' ') : 'none'),
      cell(formatTime(key.created_at)),
      cell(key.last_used_at === null ? 'never' : formatTime(key.last_used_at)),
      cell(expiry(key)),
      actions
    )
    return tr
  }

  function render () {
    list.replaceChildren(...(keys.length > 0 ? keys.map(row) : [emptyRow('No API keys yet.', 7)]))
  }

  async function load () {
    const result = await authenticatedCall('GET', API_KEYS)
    if (result.status !== 200) return failed(result)
    keys = result.data.api_keys
    renderScopes(result.data.grantable_scopes)
    render()
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const data = new FormData(form)
    const scopes = data.getAll('scopes')
    if (scopes.length === 0) return say('Tick at least one scope: a key without any can call nothing.', true)
    forget()
    const result = await authenticatedCall('POST', API_KEYS, { name: data.get('name').trim(), scopes, expires_in: Number(data.get('expires_in')) })
    if (result.status !== 201) return failed(result)
    form.reset()
    show(result.data.key)
    say(`The key “${result.data.api_key.name}” is created: copy it now.`)
    await load()
  })

  document.getElementById('api-key-copy-button').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(keyField.value)
      say('The key is copied to the clipboard.')
    } catch {
      // No clipboard access (an insecure origin, a denied permission): the key stays selected for Ctrl+C.
      keyField.select()
      say('The browser refused the clipboard: press Ctrl+C (⌘C) to copy the selected key.', true)
    }
  })
  document.getElementById('api-key-done-button').addEventListener('click', () => { forget() })
  document.getElementById('api-keys-reload-button').addEventListener('click', () => { load() })
  document.getElementById('api-keys-revoke-all-button').addEventListener('click', async () => {
    if (keys.length === 0) return say('There is no key to revoke.')
    if (!window.confirm(`Revoke all ${keys.length} API keys? Every program using one is refused from now on.`)) return
    const result = await authenticatedCall('DELETE', API_KEYS)
    if (result.status === 401) return failed(result)
    if (result.status === 200) say(`${result.data.revoked} key(s) revoked: programs using them are refused from now on.`)
    else say(describeFailure(result), true)
    await load()
  })

  return { load, forget }
}
