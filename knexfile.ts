/**
 * For the knex command line, should you want it (`npx knex --knexfile knexfile.ts migrate:status`).
 * Keygate itself migrates at start and with `npm run migrate`, which also handle the embedded
 * database; this file needs DATABASE_URL.
 */
import { loadConfig } from './src/config.ts';
import { knexConfig } from './src/db/knex.ts';

const config = loadConfig();
if (!config.databaseUrl) {
  throw new Error('knexfile.ts needs DATABASE_URL; use npm run migrate for the embedded database');
}

export default knexConfig({
  url: config.databaseUrl,
  statementTimeoutMs: config.dbStatementTimeoutMs,
});
