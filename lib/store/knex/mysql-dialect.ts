import type { Knex } from 'knex'

/** Whether the pool talks to MySQL or MariaDB, whose collations the migrations adjust. */
export const isMySql = (knex: Knex): boolean => /mysql|maria/i.test(String(knex.client.config.client))
