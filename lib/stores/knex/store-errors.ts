// Moved to the store contract's knex store; this old store goes with the UserStore.
export { guarded, isUniqueViolation } from '../../store/knex/store-errors.js'
