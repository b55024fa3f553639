import { ConfigError, loadConfig, type Config } from '../config.ts';
import { openDatabaseServer } from '../db/database.ts';
import { createDb, migrateToLatest, type Db } from '../db/knex.ts';

/** Prints one line and exits 1: the contract of every Keygate command. */
export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * Runs `work` against the configured database (DATABASE_URL, or the embedded server: joined if
 * `npm start` is already running it, otherwise started for the command and stopped afterwards).
 */
export async function withDatabase<T>(work: (db: Db, config: Config) => Promise<T>): Promise<T> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration error: ${error.message}`);
    throw error;
  }
  const server = await openDatabaseServer(config, () => undefined);
  const db = createDb({
    url: server.url,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    poolMax: 2,
  });
  try {
    await migrateToLatest(db);
    return await work(db, config);
  } finally {
    await db.destroy();
    await server.stop();
  }
}
