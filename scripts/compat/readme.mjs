/**
 * The README's Install, Quick start and Testing code blocks, read verbatim so the
 * compatibility run tries exactly what a new user copies.
 */
import { readFileSync } from 'node:fs'

/** The first fenced block of `language` in the section under `## heading`. */
export function codeBlock (readme, heading, language) {
  const start = readme.indexOf(`\n## ${heading}\n`)
  if (start === -1) throw new Error(`README.md has no "## ${heading}" section`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end === -1 ? undefined : end)
  const block = section.match(new RegExp('```' + language + '\\n([\\s\\S]*?)\\n```'))
  if (block === null) throw new Error(`README.md's "## ${heading}" section has no \`\`\`${language} block`)
  return block[1]
}

/** The `npm install …` commands of the Install section, without their comments, as argument lists. */
export function installCommands (readme) {
  return codeBlock(readme, 'Install', 'sh').split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const words = line.split(/\s+/)
      if (words[0] !== 'npm' || words[1] !== 'install') throw new Error(`the Install section runs something other than npm install: ${line}`)
      return words.slice(2)
    })
}

export function readReadme (path) {
  return readFileSync(path, 'utf8')
}
