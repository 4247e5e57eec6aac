import { accountTokenCases } from './account-token-cases.js'
import { apiKeyCases } from './api-key-cases.js'
import { attemptCases } from './attempt-cases.js'
import type { StoreContractCase } from './case.js'
import { challengeCases } from './challenge-cases.js'
import { familyCases } from './family-cases.js'
import { passkeyCases } from './passkey-cases.js'
import { recoveryCodeCases } from './recovery-code-cases.js'
import { revocationCases } from './revocation-cases.js'
import { secondFactorCases } from './second-factor-cases.js'
import { totpCases } from './totp-cases.js'
import { userCases } from './user-cases.js'

export type { StoreContractCase } from './case.js'

/**
 * The store contract as runnable cases, for any AuthStore: run each case with an `open`
 * that gives a store over fresh, empty data, and further connections to the same data
 * on later calls. The cases use only `node:assert/strict`: a failed case rejects with an
 * AssertionError, so any test runner can drive them, e.g. with node:test:
 *
 * ```ts
 * for (const { name, run } of storeContractCases) {
 *   test(name, async () => { const data = await freshDatabase(); await run(async () => await myStore(data)) })
 * }
 * ```
 *
 * They test the guarantees, not only the happy paths: concurrent reservations all
 * counted, a refresh loop racing a logout, compare-and-set updates, unique usernames
 * and emails, account tokens consumed once, pages of users in byte order, API keys
 * limited per user and revoked once, TOTP steps and recovery codes accepted once, passkeys
 * limited per user with a counter compare-and-set, challenges consumed once, and that
 * results are copies. They assume
 * whole-second times are kept exactly.
 */
export const storeContractCases: ReadonlyArray<StoreContractCase> = Object.freeze([
  ...userCases,
  ...familyCases,
  ...revocationCases,
  ...attemptCases,
  ...accountTokenCases,
  ...apiKeyCases,
  ...totpCases,
  ...recoveryCodeCases,
  ...passkeyCases,
  ...challengeCases,
  ...secondFactorCases
])
