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
