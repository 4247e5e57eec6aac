// The knex store, behind its own entry point so that an application that only verifies
// tokens never loads knex or a database driver.
export { createKnexStore, type KnexStore, type KnexStoreOptions } from './lib/store/knex/knex-store.js'
