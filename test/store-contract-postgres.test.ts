import { runStoreContract } from './helpers/store-contract.js'

// The exported contract suite on PostgreSQL (skipped without TEST_PG_URL).

runStoreContract(['postgres'])
