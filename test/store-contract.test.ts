import { runStoreContract } from './helpers/store-contract.js'

// The exported contract suite, run against the memory store and knex on SQLite; PostgreSQL
// and MariaDB/MySQL have files of their own (store-contract-postgres, store-contract-mysql).

runStoreContract(['memory', 'sqlite'])
