/**
 * The order of `apiKeys.listByUser` and `passkeys.listByUser`: by createdAt, then by id in
 * code-unit (for ids: byte) order, as no collation orders it.
 */
export function byCreation (a: { createdAt: number, id: string }, b: { createdAt: number, id: string }): number {
  return a.createdAt - b.createdAt || Number(a.id > b.id) - Number(a.id < b.id)
}
