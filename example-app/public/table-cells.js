// The pieces every panel's table is built from, made with textContent only: nothing the
// server or a user typed is ever parsed as HTML.

export function cell (text, className) {
  const td = document.createElement('td')
  td.textContent = text
  if (className !== undefined) td.className = className
  return td
}

export function button (text, className, onClick) {
  const element = document.createElement('button')
  element.type = 'button'
  element.className = className
  element.textContent = text
  element.addEventListener('click', onClick)
  return element
}

/** A row of one cell across the table's `columns`, saying why it is empty. */
export function emptyRow (message, columns) {
  const td = cell(message)
  td.colSpan = columns
  const tr = document.createElement('tr')
  tr.append(td)
  return tr
}

/**
 * Replaces a name cell's text with a form to rename: `save(name)` runs on submit with the
 * trimmed name; Cancel calls `cancel` (which redraws the table).
 */
export function startRename (nameCell, currentName, { save, cancel }) {
  const renameForm = document.createElement('form')
  renameForm.className = 'inline rename'
  const input = document.createElement('input')
  input.name = 'name'
  input.required = true
  input.maxLength = 100
  input.value = currentName
  input.setAttribute('aria-label', 'New name')
  const submit = document.createElement('button')
  submit.type = 'submit'
  submit.textContent = 'Save'
  renameForm.append(input, submit, button('Cancel', 'secondary', cancel))
  renameForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    await save(input.value.trim())
  })
  nameCell.replaceChildren(renameForm)
  input.focus()
}
