import { runStoreContract } from './helpers/store-contract.js'

// The exported contract suite on MariaDB/MySQL (skipped without TEST_MYSQL_URL).

runStoreContract(['mysql'])
