// Moved to the store contract's knex store; this old store goes with the UserStore.
export { tableNames, type TableNames } from '../../store/knex/table-names.js'
