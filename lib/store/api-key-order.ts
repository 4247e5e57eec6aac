import type { ApiKeyRecord } from './ports.js'

/** The order of `apiKeys.listByUser`: by createdAt, then by id in code-unit (for ids: byte) order, as no collation orders it. */
export function byCreation (a: ApiKeyRecord, b: ApiKeyRecord): number {
  return a.createdAt - b.createdAt || Number(a.id > b.id) - Number(a.id < b.id)
}
